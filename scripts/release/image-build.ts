// Carries out a Dockerfile's stages the way `docker build` would, in image roots (image-root.ts):
// COPY takes exactly the named paths from the build context (less .dockerignore) or from an
// earlier stage, RUN runs in the stage with its ENV, WORKDIR and USER. A COPY of a missing path or a
// failing RUN stops the build with the line that failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Stage, type Step } from './dockerfile.js';
import { type ImageRoot, type UserIds, createImageRoot, resolveUser, spawnInImage } from './image-root.js';

export interface BuiltStage {
  stage: Stage;
  root: ImageRoot;
  env: Record<string, string>;
  workdir: string;
  user: string;
  /** image paths that COPY put in this stage (for the "build writes only dist/" check) */
  copied: string[];
}

export interface BuildOptions {
  context: string;
  workDir: string;
  nodeDir: string;
  npmCache?: string;
  /** variables of the machine a RUN needs to reach the registry as the machine does (TLS roots) */
  runEnv: Record<string, string>;
  log(line: string): void;
}

export class BuildError extends Error {}

/** .dockerignore as plain paths from the context root; a pattern with wildcards is refused. */
export function readDockerignore(context: string): string[] {
  const file = path.join(context, '.dockerignore');
  if (!fs.existsSync(file)) return [];
  const patterns = fs.readFileSync(file, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  for (const pattern of patterns) {
    if (/[*?[\]!]/.test(pattern)) throw new BuildError(`.dockerignore: the pattern ${pattern} has wildcards, which the image check does not reproduce`);
  }
  return patterns.map((pattern) => path.posix.normalize(pattern).replace(/^\/+|\/+$/g, ''));
}

function ignored(relative: string, patterns: string[]): boolean {
  return patterns.some((pattern) => relative === pattern || relative.startsWith(pattern + '/'));
}

function inRoot(root: ImageRoot, imagePath: string): string {
  return path.join(root.dir, path.posix.resolve('/', imagePath));
}

function countFiles(target: string): number {
  const stat = fs.lstatSync(target);
  if (!stat.isDirectory()) return 1;
  return fs.readdirSync(target).reduce((sum, entry) => sum + countFiles(path.join(target, entry)), 0);
}

function copyStep(step: Extract<Step, { kind: 'COPY' }>, into: BuiltStage, built: Map<string, BuiltStage>, options: BuildOptions, patterns: string[]): string {
  const destination = path.posix.resolve(into.workdir, step.destination);
  const toDirectory = step.destination.endsWith('/') || step.sources.length > 1;
  const from = step.fromStage === undefined ? undefined : built.get(step.fromStage);
  if (step.fromStage !== undefined && !from) throw new BuildError(`line ${step.line + 1}: COPY --from=${step.fromStage}: no such earlier stage`);
  let files = 0;
  for (const source of step.sources) {
    if (/[*?[\]]/.test(source)) throw new BuildError(`line ${step.line + 1}: COPY ${source}: wildcards are not reproduced by the image check`);
    let sourcePath: string;
    if (from) {
      sourcePath = inRoot(from.root, source);
    } else {
      const relative = path.posix.normalize(source).replace(/^\.?\/+/, '').replace(/\/+$/, '') || '.';
      if (relative.startsWith('..')) throw new BuildError(`line ${step.line + 1}: COPY ${source}: outside the build context`);
      if (relative !== '.' && ignored(relative, patterns)) throw new BuildError(`line ${step.line + 1}: COPY ${source}: excluded by .dockerignore`);
      sourcePath = path.join(options.context, relative);
    }
    if (!fs.existsSync(sourcePath)) throw new BuildError(`line ${step.line + 1}: COPY ${source}: not found in ${from ? `stage ${from.stage.name}` : 'the build context'}`);
    const isDirectory = fs.statSync(sourcePath).isDirectory();
    const target = isDirectory || !toDirectory ? destination : path.posix.join(destination, path.basename(source));
    const targetPath = inRoot(into.root, target);
    fs.mkdirSync(isDirectory ? targetPath : path.dirname(targetPath), { recursive: true });
    fs.cpSync(sourcePath, targetPath, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (file) => from !== undefined || !ignored(path.relative(options.context, file), patterns),
    });
    into.copied.push(target);
    files += countFiles(sourcePath);
  }
  return `${files} file${files === 1 ? '' : 's'}`;
}

/** `apt-get` parts of a RUN: the image's /usr is the machine's, so the packages must be installed here. */
function withoutAptGet(command: string, log: (line: string) => void): string {
  const parts = command.split('&&').map((part) => part.trim());
  const kept: string[] = [];
  for (const part of parts) {
    if (/^apt-get\s+update\b/.test(part) || /^rm\s+-rf\s+\/var\/lib\/apt\/lists/.test(part)) continue;
    const install = /^apt-get\s+install\s+(.*)$/.exec(part);
    if (!install) {
      kept.push(part);
      continue;
    }
    const packages = install[1].split(/\s+/).filter((word) => word && !word.startsWith('-'));
    const missing = packages.filter((name) => !/install ok installed/.test(spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout ?? ''));
    if (missing.length > 0) throw new BuildError(`apt-get install ${packages.join(' ')}: not installed on this machine (${missing.join(', ')}); the image check uses the machine's /usr`);
    log(`    apt-get install ${packages.join(' ')}: skipped, installed on this machine (${packages.join(', ')})`);
  }
  return kept.join(' && ');
}

function runStep(step: Extract<Step, { kind: 'RUN' }>, stage: BuiltStage, options: BuildOptions): Promise<void> {
  const command = withoutAptGet(step.command, options.log);
  if (!command) return Promise.resolve();
  const user: UserIds = resolveUser(stage.root.dir, stage.user);
  const env = { ...options.runEnv, ...stage.env, HOME: user.home };
  const started = Date.now();
  const child = spawnInImage(stage.root, { argv: ['/bin/sh', '-c', command], cwd: stage.workdir, user, env }, 'pipe');
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) {
        options.log(`    RUN ${command}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s (as ${stage.user})`);
        resolve();
      } else {
        reject(new BuildError(`line ${step.line + 1}: RUN ${command} failed (${signal ?? `exit code ${code}`}):\n${output}`));
      }
    });
  });
}

/** Builds every stage in order; each stage gets its root under workDir/<index>. */
export async function buildStages(stages: Stage[], options: BuildOptions): Promise<BuiltStage[]> {
  const patterns = readDockerignore(options.context);
  const built = new Map<string, BuiltStage>();
  const all: BuiltStage[] = [];
  for (const [index, stage] of stages.entries()) {
    const root: ImageRoot = { dir: path.join(options.workDir, `stage-${index}`), nodeDir: options.nodeDir, npmCache: options.npmCache };
    const { nodeUserNote } = createImageRoot(root);
    options.log(`  stage ${stage.name} (FROM ${stage.baseImage}): the machine's Debian /usr, Node ${nodeVersion(options.nodeDir)} at /usr/local; ${nodeUserNote}`);
    const current: BuiltStage = { stage, root, env: {}, workdir: '/', user: 'root', copied: [] };
    for (const step of stage.steps) {
      if (step.kind === 'ENV') {
        Object.assign(current.env, step.values);
        options.log(`    ENV ${Object.keys(step.values).join(' ')}`);
      } else if (step.kind === 'WORKDIR') {
        current.workdir = path.posix.resolve(current.workdir, step.path);
        fs.mkdirSync(inRoot(root, current.workdir), { recursive: true });
        options.log(`    WORKDIR ${current.workdir}`);
      } else if (step.kind === 'USER') {
        resolveUser(root.dir, step.user);
        current.user = step.user;
        options.log(`    USER ${step.user}`);
      } else if (step.kind === 'COPY') {
        const what = copyStep(step, current, built, options, patterns);
        options.log(`    COPY ${step.fromStage ? `--from=${step.fromStage} ` : ''}${step.sources.join(' ')} ${step.destination}: ${what}`);
      } else {
        await runStep(step, current, options);
      }
    }
    built.set(stage.name, current);
    built.set(String(index), current);
    all.push(current);
  }
  return all;
}

export function nodeVersion(nodeDir: string): string {
  return spawnSync(path.join(nodeDir, 'bin/node'), ['--version'], { encoding: 'utf8' }).stdout.trim();
}
