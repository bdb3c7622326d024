// The runtime dependencies are exactly what the build imports: every package dist/ imports is in
// package.json's "dependencies" (so `npm ci --omit=dev` has it), and every one there is imported
// by dist/ (so the image carries nothing only tests, benchmarks or `npm start` use). dist/ holds
// no test code either. Imports are read by TypeScript's own pre-processor (static imports and
// exports, import() and require() with literal names). Every .lua file of src/ (scripts the code
// reads at run time) is in dist/ at the same path. Run after `npm run build`:
//
//   tsx scripts/release/dist-deps-check.ts
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

const REPO = path.resolve(import.meta.dirname, '../..');

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || specifier.startsWith('file:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/** Every package imported by a .js file under distDir, with the files that import it. */
export function distImports(distDir: string): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const file of fs.readdirSync(distDir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.js')) continue;
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(distDir, file), 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const name = packageOf(fileName);
      if (name) imports.set(name, [...(imports.get(name) ?? []), file]);
    }
  }
  return imports;
}

export function checkDistDependencies(root: string): { problems: string[]; imported: string[] } {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
  const distDir = path.join(root, 'dist');
  if (!fs.existsSync(path.join(distDir, 'main.js'))) return { problems: ['dist/main.js is missing: run npm run build first'], imported: [] };
  const imports = distImports(distDir);
  const problems: string[] = [];
  for (const [name, files] of imports) {
    if (!dependencies.has(name)) problems.push(`dist imports ${name} (${files.slice(0, 3).join(', ')}) but it is not in "dependencies"${manifest.devDependencies?.[name] ? ' (it is a devDependency)' : ''}`);
  }
  for (const name of dependencies) if (!imports.has(name)) problems.push(`"dependencies" has ${name}, which nothing in dist/ imports: move it to devDependencies`);
  for (const file of fs.readdirSync(distDir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(distDir, file);
    if (!fs.statSync(full).isFile()) continue;
    if (/\.(test|conformance)\.(js|d\.ts)$/.test(file)) problems.push(`dist/${file} is test code`);
    else if (fs.readFileSync(full, 'utf8').includes('test/support')) problems.push(`dist/${file} mentions test/support`);
  }
  const srcDir = path.join(root, 'src');
  for (const file of fs.existsSync(srcDir) ? fs.globSync('**/*.lua', { cwd: srcDir }) : []) {
    if (!fs.existsSync(path.join(distDir, file))) problems.push(`dist/${file} is missing: the build copies every .lua file of src/ into dist/`);
  }
  return { problems, imported: [...imports.keys()].sort() };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { problems, imported } = checkDistDependencies(REPO);
  if (problems.length > 0) {
    console.error(`dist dependencies check FAILED:\n${problems.map((problem) => `  ✗ ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`dist dependencies check passed: dist/ imports exactly the ${imported.length} "dependencies" (${imported.join(', ')}); no test code in dist/`);
}
