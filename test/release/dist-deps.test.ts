import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDistDependencies, packageOf } from '../../scripts/release/dist-deps-check.js';

let root: string | undefined;
afterEach(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function project(dependencies: Record<string, string>, devDependencies: Record<string, string>, dist: Record<string, string>, src: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-dist-deps-'));
  root = dir;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ dependencies, devDependencies }));
  for (const [file, content] of [...Object.entries(dist).map(([file, content]) => [`dist/${file}`, content]), ...Object.entries(src).map(([file, content]) => [`src/${file}`, content])]) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

describe('the dist dependencies check', () => {
  it('names packages, not paths or built-in modules', () => {
    expect(packageOf('@aws-sdk/client-s3')).toBe('@aws-sdk/client-s3');
    expect(packageOf('@scope/name/sub/path.js')).toBe('@scope/name');
    expect(packageOf('pino/file')).toBe('pino');
    expect(packageOf('./app.js')).toBeUndefined();
    expect(packageOf('node:fs')).toBeUndefined();
    expect(packageOf('worker_threads')).toBeUndefined();
  });

  it('passes when dist imports exactly the dependencies (static, re-export, import(), require())', () => {
    const dist = {
      'main.js': "import a from 'a';\nexport { b } from 'b/sub.js';\nconst c = await import('@s/c');\nimport fs from 'node:fs';\nimport './local.js';",
      'modules/x.js': "const d = require('d');",
    };
    expect(checkDistDependencies(project({ a: '1', b: '1', '@s/c': '1', d: '1' }, {}, dist)).problems).toEqual([]);
  });

  it('fails on an import missing from dependencies, an unused dependency and test code in dist', () => {
    const { problems } = checkDistDependencies(
      project({ a: '1', unused: '1' }, { tsx: '1' }, { 'main.js': "import a from 'a'; import 'tsx';", 'x.test.js': '', 'support.js': "// from '../test/support/x.js'" }),
    );
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(expect.arrayContaining([
      'dist imports tsx (main.js) but it is not in "dependencies" (it is a devDependency)',
      '"dependencies" has unused, which nothing in dist/ imports: move it to devDependencies',
      'dist/support.js mentions test/support',
      'dist/x.test.js is test code',
    ]));
  });

  it('fails when a .lua file of src/ is not in dist/ at the same path', () => {
    const dist = { 'main.js': '', 'infra/kept.lua': 'return 1' };
    const src = { 'main.ts': '', 'infra/kept.lua': 'return 1', 'infra/lost.lua': 'return 2' };
    expect(checkDistDependencies(project({}, {}, dist, src)).problems).toEqual(['dist/infra/lost.lua is missing: the build copies every .lua file of src/ into dist/']);
  });
});
