// The image check must fail where `docker build` or the container would: these Dockerfiles are
// small (no npm ci), each broken in one way, built from a temporary context.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const FROM = `FROM node:${process.versions.node.split('.')[0]}-bookworm-slim`;
const contexts: string[] = [];

function imageCheck(dockerfile: string, files: Record<string, string> = {}): { status: number | null; output: string } {
  const context = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-image-check-test-'));
  contexts.push(context);
  fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
  fs.writeFileSync(path.join(context, 'package.json'), JSON.stringify({ name: 'tiny', version: '0.1.0', type: 'module' }));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(context, name), content);
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/release/image-check.ts', '--dockerfile', path.join(context, 'Dockerfile'), '--context', context], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 100_000,
    // the Node running this test stands in for the image's (FROM names its major version)
    env: { ...process.env, WORKYARD_IMAGE_NODE_DIR: path.dirname(path.dirname(process.execPath)) },
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

afterAll(() => {
  for (const context of contexts) fs.rmSync(context, { recursive: true, force: true });
});

// A build stage that makes dist/main.js from the context, and a runtime stage that copies it.
const tinyImage = (runtimeCopies: string) => `${FROM} AS build
WORKDIR /app
COPY package.json main.js ./
RUN mkdir dist && cp main.js dist/main.js
${FROM}
WORKDIR /app
${runtimeCopies}
USER node
ENTRYPOINT ["node", "dist/main.js"]
CMD ["start"]
`;
const mainJs = `import { createRequire } from 'node:module';\nconsole.log(createRequire(import.meta.url)('../package.json').version);\n`;

describe('the image check refuses a broken image', () => {
  it('fails on a COPY of a path the build context does not have, naming it and the line', () => {
    const { status, output } = imageCheck(`${FROM}\nWORKDIR /app\nCOPY package.json missing.json ./\n`);
    expect(status).toBe(1);
    expect(output).toMatch(/image check FAILED: line 3: COPY missing\.json: not found in the build context/);
  });

  it('fails on a COPY of a path .dockerignore excludes (docker build would not send it)', () => {
    const { status, output } = imageCheck(`${FROM}\nCOPY secret.txt /\n`, { 'secret.txt': 'x', '.dockerignore': 'secret.txt\n' });
    expect(status).toBe(1);
    expect(output).toMatch(/COPY secret\.txt: excluded by \.dockerignore/);
  });

  it('fails on a RUN that exits non-zero, with its output', () => {
    const { status, output } = imageCheck(`${FROM}\nRUN echo about to fail && false\n`);
    expect(status).toBe(1);
    expect(output).toMatch(/line 2: RUN echo about to fail && false failed \(exit code 1\):\s+about to fail/);
  });

  it('fails when the runtime stage lacks a file the entrypoint needs (here package.json), and passes the --version check with it', () => {
    const without = imageCheck(tinyImage('COPY --from=build /app/dist ./dist'), { 'main.js': mainJs });
    expect(without.status).toBe(1);
    expect(without.output).toMatch(/node dist\/main\.js --version: exit 1/);
    expect(without.output).toMatch(/Cannot find module '\.\.\/package\.json'/);
    // The same image with package.json copied gets past --version (and fails later: it is no Workyard).
    const withIt = imageCheck(tinyImage('COPY --from=build /app/package.json ./\nCOPY --from=build /app/dist ./dist'), { 'main.js': mainJs });
    expect(withIt.output).toMatch(/✓ node dist\/main\.js --version prints 0\.1\.0/);
    expect(withIt.status).toBe(1);
  });

  it('fails when the build writes outside dist/', () => {
    const { status, output } = imageCheck(`${FROM} AS build\nWORKDIR /app\nCOPY package.json ./\nRUN mkdir dist && touch stray.js\n${FROM}\nCOPY --from=build /app/dist /app/dist\n`);
    expect(status).toBe(1);
    expect(output).toMatch(/stage build wrote files outside dist\/: stray\.js/);
  });
});
