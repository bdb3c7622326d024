// Lua scripts live in .lua files beside the code that runs them (the build copies them into dist/
// at the same paths); each is read once, when the module that uses it loads.
import fs from 'node:fs';

/** The text of `name`, a file in the directory of the module whose import.meta.url is `moduleUrl`. */
export const loadLua = (moduleUrl: string, name: string): string => fs.readFileSync(new URL(name, moduleUrl), 'utf8');
