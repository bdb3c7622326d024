// The image check: the Dockerfile carried out without Docker (Docker does not run on our machines).
// It reads the Dockerfile itself, builds every stage in an empty directory from exactly what the
// stages COPY (image-build.ts), then starts the last stage's ENTRYPOINT + CMD as the image's USER
// with the image's ENV (ports changed to free ones) and checks, against that artifact: embedded
// (`start`): /healthz, /readyz, /sync/sum, a blob put+get, a queued feedback save; scaled
// (`migrate`, then `serve` + `worker`) on a fresh PostgreSQL database, a unique Redis prefix and an
// s3rver started here; the HEALTHCHECK command in every container. Bounded in time; cleans up.
//
//   tsx scripts/release/image-check.ts [--dockerfile PATH] [--context DIR] [--build-only] [--keep]
//
// Run as root (chroot and mount namespaces) with the Node.js the Dockerfile's FROM names first in
// PATH, or WORKYARD_IMAGE_NODE_DIR set to that Node's install directory (bin/node, include/node).
import { type ChildProcess, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deleteRedisPrefix } from '../../test/support/redis-keys.js';
import { startS3rver } from '../../test/support/s3rver.js';
import { createTestDatabase, postgresAdminUrl, redisUrl, uniqueRedisPrefix } from '../../test/support/services.js';
import { freePort } from '../../test/support/free-port.js';
import { DockerfileError, type Stage, parseDockerfile } from './dockerfile.js';
import { BuildError, type BuiltStage, buildStages, nodeVersion } from './image-build.js';
import { killImageProcesses, removeImageRoot, resolveUser, spawnInImage } from './image-root.js';
import { CheckFailure, checkBlobPutGet, checkQueuedFeedback, checkReadyz, checkSyncSum, waitForHealthz } from './service-checks.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DEADLINE_MS = 12 * 60_000;

const { values: options } = parseArgs({
  options: {
    dockerfile: { type: 'string', default: path.join(REPO, 'Dockerfile') },
    context: { type: 'string', default: REPO },
    'build-only': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const log = (line: string) => console.log(line);
const checked: string[] = [];
const pass = (what: string) => {
  checked.push(what);
  log(`  ✓ ${what}`);
};
const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** The Node install to stand in for the base image's: the one running this script, unless told. */
function chooseNodeDir(stages: Stage[]): string {
  const nodeDir = process.env.WORKYARD_IMAGE_NODE_DIR ?? path.dirname(path.dirname(process.execPath));
  const version = nodeVersion(nodeDir);
  for (const stage of stages) {
    const match = /^node:(\d+)-bookworm-slim$/.exec(stage.baseImage);
    if (!match) throw new CheckFailure(`FROM ${stage.baseImage}: the image check stands in for node:<major>-bookworm-slim images only (this machine is Debian bookworm)`);
    if (!version.startsWith(`v${match[1]}.`)) throw new CheckFailure(`FROM ${stage.baseImage} but the Node.js here is ${version}: put Node ${match[1]} first in PATH or set WORKYARD_IMAGE_NODE_DIR`);
  }
  if (!fs.existsSync(path.join(nodeDir, 'include/node/node.h'))) throw new CheckFailure(`${nodeDir} has no include/node (node-gyp needs the headers to build better-sqlite3)`);
  return nodeDir;
}

/** Files the build wrote outside dist/ and node_modules/ (the build must write only to dist/). */
function strayBuildOutput(build: BuiltStage): string[] {
  const appDir = path.join(build.root.dir, build.workdir);
  const copied = new Set(build.copied.map((imagePath) => path.posix.relative(build.workdir, imagePath)));
  const stray: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(appDir, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (child === 'node_modules' || child === 'dist' || copied.has(child)) continue;
      if (entry.isDirectory()) walk(child);
      else stray.push(child);
    }
  };
  walk('');
  return stray;
}

function testCodeIn(distDir: string): string[] {
  const found: string[] = [];
  for (const file of fs.readdirSync(distDir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(distDir, file);
    if (!fs.statSync(full).isFile()) continue;
    if (/\.(test|conformance)\.js$/.test(file) || fs.readFileSync(full, 'utf8').includes('test/support')) found.push(file);
  }
  return found;
}

interface Container {
  name: string;
  child: ChildProcess;
  env: Record<string, string>;
  exited: Promise<number | string | null>;
  output(): string;
  stop(): Promise<number | string | null>;
}

function startContainer(image: BuiltStage, name: string, cmd: string[], env: Record<string, string>): Container {
  const fullEnv = { ...image.env, ...env };
  const child = spawnInImage(image.root, { argv: [...image.stage.entrypoint, ...cmd], cwd: image.workdir, user: resolveUser(image.root.dir, image.user), env: fullEnv });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const container: Container = {
    name,
    child,
    env: fullEnv,
    exited,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // what `docker stop` sends first
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
  cleanups.push(() => container.stop());
  return container;
}

/** Runs a command to its end inside the image (a one-off container), with a time limit. */
async function runInImage(image: BuiltStage, argv: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | string | null; output: string; stdout: string }> {
  const child = spawnInImage(image.root, { argv, cwd: image.workdir, user: resolveUser(image.root.dir, image.user), env: { ...image.env, ...env } });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | string | null>((resolve) => child.once('exit', (exitCode, signal) => resolve(signal ?? exitCode)));
  clearTimeout(timer);
  return { code, output, stdout };
}

async function checkHealthcheck(image: BuiltStage, container: Container): Promise<void> {
  if (!image.stage.healthcheck) throw new CheckFailure('the Dockerfile has no HEALTHCHECK');
  const { code, output } = await runInImage(image, image.stage.healthcheck, container.env, 10_000);
  if (code !== 0) throw new CheckFailure(`HEALTHCHECK in the ${container.name} container exited ${code}: ${output}`);
  pass(`HEALTHCHECK command exits 0 in the ${container.name} container`);
}

async function stopCleanly(container: Container): Promise<void> {
  const result = await container.stop();
  if (result !== 0) throw new CheckFailure(`${container.name} exited ${result} on SIGTERM (expected 0):\n${container.output()}`);
  pass(`${container.name} stops on SIGTERM with exit code 0`);
}

/** The operator commands, as a second process in the image, against the running server. */
async function checkOperatorCli(image: BuiltStage, baseUrl: string): Promise<string> {
  const run = (args: string[]) => runInImage(image, [...image.stage.entrypoint, ...args, '--url', baseUrl], {}, 60_000);
  const list = await run(['tasks', 'list', '--limit', '5', '--json']);
  const tasks = list.code === 0 ? (JSON.parse(list.stdout) as { tasks?: { id: string }[] }).tasks : undefined;
  if (!tasks || tasks.length === 0) throw new CheckFailure(`tasks list exited ${list.code}: ${list.output.slice(-1_000)}`);
  const show = await run(['tasks', 'show', tasks[0].id]);
  if (show.code !== 0 || !show.stdout.includes(tasks[0].id)) throw new CheckFailure(`tasks show exited ${show.code}: ${show.output.slice(-1_000)}`);
  const queues = await run(['queues', '--json']);
  const names = queues.code === 0 ? (JSON.parse(queues.stdout) as { queues?: { name: string }[] }).queues?.map((queue) => queue.name) : undefined;
  if (!names || names.length === 0) throw new CheckFailure(`queues exited ${queues.code}: ${queues.output.slice(-1_000)}`);
  return `tasks list (${tasks.length}), tasks show, queues (${names.join(', ')})`;
}

async function checkEmbedded(image: BuiltStage): Promise<void> {
  log('\nembedded: the image\'s CMD with its ENV (empty data dir)');
  const port = await freePort();
  const container = startContainer(image, 'embedded', image.stage.cmd, { WORKYARD_PORT: String(port) });
  const baseUrl = `http://127.0.0.1:${port}`;
  const ms = await waitForHealthz(baseUrl, 60_000, container.exited, container.output);
  pass(`${[...image.stage.entrypoint, ...image.stage.cmd].join(' ')} as ${image.user}: /healthz 200 after ${Math.round(ms)} ms`);
  pass(`/readyz 200: ${await checkReadyz(baseUrl)}`);
  pass(`/sync/sum ${await checkSyncSum(baseUrl)}`);
  pass(`blob ${await checkBlobPutGet(baseUrl)}`);
  pass(`queued feedback save: ${await checkQueuedFeedback(baseUrl)}`);
  const traffic = await runInImage(image, [...image.stage.entrypoint, 'traffic', '20', '--base-url', baseUrl], { WORKYARD_PORT: String(port) }, 60_000);
  const summary = /\{[\s\S]*\}\s*$/.exec(traffic.stdout)?.[0];
  if (traffic.code !== 0 || !summary || JSON.parse(summary).ok !== 20) throw new CheckFailure(`traffic 20 exited ${traffic.code}: ${traffic.output.slice(-1_000)}`);
  pass('traffic 20 (a second process in the image, on a worker thread): 20 requests ok');
  pass(`operator commands: ${await checkOperatorCli(image, baseUrl)}`);
  await checkHealthcheck(image, container);
  await stopCleanly(container);
  const dataDir = path.join(image.root.dir, image.env.WORKYARD_DATA_DIR ?? '/data');
  const owner = resolveUser(image.root.dir, image.user).uid;
  const written = fs.readdirSync(dataDir);
  if (written.length === 0 || fs.statSync(path.join(dataDir, written[0])).uid !== owner) throw new CheckFailure(`nothing written by ${image.user} in ${dataDir}`);
  pass(`data written to the volume ${image.env.WORKYARD_DATA_DIR} as ${image.user}: ${written.join(', ')}`);
}

async function checkScaled(image: BuiltStage): Promise<void> {
  log('\nscaled: migrate, then serve + worker on PostgreSQL, Redis and s3rver');
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const prefix = uniqueRedisPrefix('image-check');
  cleanups.push(() => deleteRedisPrefix(redisUrl, prefix));
  const s3 = await startS3rver();
  cleanups.push(() => s3.stop());
  const shared = { WORKYARD_DATABASE_URL: database.url, WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix, ...s3.env('workyard-image-check') };
  log(`  PostgreSQL ${new URL(database.url).pathname.slice(1)} (fresh, on ${new URL(postgresAdminUrl).host}), Redis prefix ${prefix}, s3rver ${s3.endpoint}`);

  const migrate = await runInImage(image, [...image.stage.entrypoint, 'migrate'], shared, 60_000);
  if (migrate.code !== 0) throw new CheckFailure(`migrate exited ${migrate.code}: ${migrate.output}`);
  pass(`migrate on the fresh database: exit 0 (${migrate.output.trim().split('\n').at(-1)})`);

  const apiPort = await freePort();
  const workerPort = await freePort();
  const serve = startContainer(image, 'serve', ['serve'], { ...shared, WORKYARD_PORT: String(apiPort) });
  const worker = startContainer(image, 'worker', ['worker'], { ...shared, WORKYARD_WORKER_PORT: String(workerPort) });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  pass(`serve: /healthz 200 after ${Math.round(await waitForHealthz(apiUrl, 60_000, serve.exited, serve.output))} ms`);
  pass(`worker: /healthz 200 after ${Math.round(await waitForHealthz(workerUrl, 60_000, worker.exited, worker.output))} ms`);
  pass(`serve /readyz 200: ${await checkReadyz(apiUrl, ['postgres', 'redis', 's3'])}`);
  pass(`worker /readyz 200: ${await checkReadyz(workerUrl)}`);
  pass(`/sync/sum through the worker: ${await checkSyncSum(apiUrl)}`);
  pass(`blob on s3rver: ${await checkBlobPutGet(apiUrl)}`);
  pass(`queued feedback save through Redis: ${await checkQueuedFeedback(apiUrl)}`);
  pass(`operator commands on BullMQ: ${await checkOperatorCli(image, apiUrl)}`);
  await checkHealthcheck(image, serve);
  await checkHealthcheck(image, worker);
  await stopCleanly(serve);
  await stopCleanly(worker);
}

async function main(): Promise<void> {
  const started = Date.now();
  const dockerfile = fs.readFileSync(options.dockerfile!, 'utf8');
  const stages = parseDockerfile(dockerfile);
  const image = stages.at(-1)!;
  log(`image check: ${path.relative(process.cwd(), options.dockerfile!) || options.dockerfile}, ${stages.length} stages (${stages.map((stage) => stage.name).join(', ')}), context ${options.context}`);
  const nodeDir = chooseNodeDir(stages);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-image-'));
  if (!options.keep) cleanups.push(() => removeImageRoot(workDir));
  else log(`  keeping ${workDir}`);
  const npmCache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
  // The machine's TLS roots: the registry is reached through them, in the image as on the machine.
  const runEnv: Record<string, string> = { npm_config_nodedir: '/usr/local' };
  if (process.env.NODE_EXTRA_CA_CERTS) runEnv.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  // and as patient with it: CI asks npm to retry a failed fetch more than its default twice
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('npm_config_fetch_retr') && value) runEnv[name] = value;
  log(`\nbuild (in ${workDir}; RUN as in the image, with npm_config_nodedir=/usr/local, the headers of the image's Node)`);
  const built = await buildStages(stages, { context: options.context!, workDir, nodeDir, npmCache: fs.existsSync(npmCache) ? npmCache : undefined, runEnv, log });
  pass(`every COPY source exists and every RUN exits 0 (${stages.length} stages, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const runtime = built.at(-1)!;
  for (const build of built.slice(0, -1)) {
    const stray = strayBuildOutput(build);
    if (stray.length > 0) throw new CheckFailure(`stage ${build.stage.name} wrote files outside dist/: ${stray.slice(0, 10).join(', ')}`);
  }
  pass('the build stage wrote nothing outside dist/ and node_modules/');
  const distDir = path.join(runtime.root.dir, runtime.workdir, 'dist');
  if (fs.existsSync(distDir)) {
    const testCode = testCodeIn(distDir);
    if (testCode.length > 0) throw new CheckFailure(`dist/ in the image holds test code: ${testCode.join(', ')}`);
    pass('dist/ in the image holds no test, conformance or test/support code');
  }
  if (options['build-only']) return;
  if (image.entrypoint.length === 0) throw new CheckFailure('the last stage has no ENTRYPOINT');

  const version = await runInImage(runtime, [...image.entrypoint, '--version'], {}, 30_000);
  const expected = JSON.parse(fs.readFileSync(path.join(options.context!, 'package.json'), 'utf8')).version;
  if (version.code !== 0 || version.output.trim() !== expected) throw new CheckFailure(`${image.entrypoint.join(' ')} --version: exit ${version.code}, printed ${JSON.stringify(version.output.trim())} (expected ${expected})`);
  pass(`${image.entrypoint.join(' ')} --version prints ${expected}`);

  await checkEmbedded(runtime);
  await checkScaled(runtime);
}

async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`image check: clean-up step failed: ${error instanceof Error ? error.message : error}`);
    }
  }
}

/** Time out or interrupted: everything started in the image is killed, then the rest cleaned up. */
function abort(reason: string): void {
  console.error(`image check: ${reason}`);
  killImageProcesses();
  void cleanUp().finally(() => process.exit(1));
}
const deadline = setTimeout(() => abort(`not done within ${DEADLINE_MS / 60_000} minutes`), DEADLINE_MS);
deadline.unref();
process.once('SIGINT', () => abort('interrupted (SIGINT)'));
process.once('SIGTERM', () => abort('stopped (SIGTERM)'));

try {
  await main();
  await cleanUp();
  log(`\nimage check passed: ${checked.length} checks`);
  process.exit(0);
} catch (error) {
  console.error(`\nimage check FAILED: ${error instanceof Error ? error.message : error}`);
  const expected = error instanceof CheckFailure || error instanceof BuildError || error instanceof DockerfileError;
  if (!expected && error instanceof Error && error.stack) console.error(error.stack);
  await cleanUp();
  process.exit(1);
}
