import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../scripts/release/dockerfile.js';
import { NODE_FLAGS } from '../../src/node-flags.js';

const REPO = path.resolve(import.meta.dirname, '../..');

describe('the Dockerfile as the image check reads it', () => {
  it('finds the build and runtime stages of our Dockerfile, with every step in order', () => {
    const [build, runtime] = parseDockerfile(fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));
    expect(build.name).toBe('build');
    expect(build.baseImage).toMatch(/^node:24-bookworm-slim$/);
    expect(build.steps.map((step) => step.kind)).toEqual(['RUN', 'WORKDIR', 'COPY', 'RUN', 'COPY', 'COPY', 'RUN']);
    expect(runtime.steps.filter((step) => step.kind === 'COPY').map((step) => step.kind === 'COPY' && step.fromStage)).toEqual(['build', 'build', 'build']);
    expect(runtime.steps.find((step) => step.kind === 'ENV')).toMatchObject({ values: { NODE_ENV: 'production', WORKYARD_DATA_DIR: '/data' } });
    expect(runtime.steps.at(-1)).toMatchObject({ kind: 'USER', user: 'node' });
    expect(runtime.entrypoint).toEqual(['node', ...NODE_FLAGS, 'dist/main.js']);
    expect(runtime.cmd).toEqual(['start']);
    expect(runtime.healthcheck?.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(runtime.healthcheck?.[2]).toMatch(/^node -e "fetch\(/);
  });

  it('starts the image, `npm start` and the `workyard` command with the same V8 flags', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`exec node ${NODE_FLAGS.join(' ')} --import tsx src/main.ts start`);
    expect(fs.readFileSync(path.join(REPO, 'src/main.ts'), 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
    // the benchmarks measure the process as it ships
    for (const [name, script] of Object.entries(pkg.scripts).filter(([name, script]) => name.startsWith('bench') && script.includes('tsx'))) {
      expect(script, name).toMatch(new RegExp(`^node ${NODE_FLAGS.join(' ')} --import tsx `));
    }
  });

  it('reads JSON and shell forms, multi-line RUN, COPY --from by index', () => {
    const [, second] = parseDockerfile(
      'FROM node:24-bookworm-slim\nRUN ["echo", "a b"]\nFROM node:24-bookworm-slim\nRUN echo one \\\n  && echo two\nCOPY --from=0 /a /b/\nHEALTHCHECK CMD ["node", "-e", "1"]\nENTRYPOINT ["node"]\n',
    );
    expect(second.steps[0]).toMatchObject({ kind: 'RUN', command: expect.stringMatching(/^echo one\s+&& echo two$/) });
    expect(second.steps[1]).toMatchObject({ kind: 'COPY', fromStage: '0', sources: ['/a'], destination: '/b/' });
    expect(second.healthcheck).toEqual(['node', '-e', '1']);
    expect(parseDockerfile('FROM x\nRUN ["echo", "a b"]\n')[0].steps[0]).toMatchObject({ command: "echo 'a b'" });
  });

  it('refuses what it cannot reproduce, naming the line', () => {
    expect(() => parseDockerfile('FROM x\nENTRYPOINT node main.js\n')).toThrow(/line 2: ENTRYPOINT must use the exec form/);
    expect(() => parseDockerfile('FROM x\nADD a /a\n')).toThrow(/line 2: ADD is not reproduced/);
    expect(() => parseDockerfile('FROM x\nCOPY --chown=node a /a\n')).toThrow(/line 2: COPY --chown/);
    expect(() => parseDockerfile('FROM x\nENV A=$B\n')).toThrow(/line 2: ENV: variable expansion/);
    expect(() => parseDockerfile('RUN true\n')).toThrow(/line 1: RUN before the first FROM/);
  });
});
