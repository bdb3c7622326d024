// The package check: `npm pack` makes the tarball a user installs; `npm install -g <tarball>` into
// a temporary prefix (production dependencies only, better-sqlite3 built for the Node running this)
// gives a `workyard` command that answers --version and starts to /healthz on an empty data dir.
// No EBADENGINE warning may appear on the way. Bounded in time; cleans up.
//
//   tsx scripts/release/package-check.ts      (Node 24 first in PATH, npm_config_nodedir its headers)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/support/free-port.js';
import { CheckFailure, waitForHealthz } from './service-checks.js';

const REPO = path.resolve(import.meta.dirname, '../..');

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): string {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', timeout: options.timeoutMs });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) throw new CheckFailure(`${command} ${args.join(' ')} failed (${result.signal ?? `exit code ${result.status}`}):\n${output.slice(-4_000)}`);
  return output;
}

async function main(work: string): Promise<string[]> {
  const checked: string[] = [];
  const pass = (what: string) => {
    checked.push(what);
    console.log(`  ✓ ${what}`);
  };
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  // npm pack runs prepack (the build) and prints the tarball's name last.
  const packOutput = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO, timeoutMs: 180_000 });
  const [packed] = JSON.parse(packOutput.slice(packOutput.indexOf('\n[') + 1, packOutput.lastIndexOf('\n]') + 2)) as { filename: string; files: { path: string }[]; size: number }[];
  const tarball = path.join(work, packed.filename);
  const outside = packed.files.map((file) => file.path).filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(file));
  if (outside.length > 0) throw new CheckFailure(`the tarball holds files outside dist/: ${outside.slice(0, 10).join(', ')}`);
  if (!packed.files.some((file) => file.path === 'dist/main.js')) throw new CheckFailure('the tarball has no dist/main.js');
  const testCode = packed.files.filter((file) => /\.(test|conformance)\.js$/.test(file.path));
  if (testCode.length > 0) throw new CheckFailure(`the tarball holds test code: ${testCode.map((file) => file.path).join(', ')}`);
  pass(`npm pack: ${packed.filename}, ${packed.files.length} files (dist/, package.json, README.md), ${Math.round(packed.size / 1024)} kB`);

  const prefix = path.join(work, 'prefix');
  const started = Date.now();
  const installOutput = run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, timeoutMs: 420_000 });
  if (/EBADENGINE/.test(installOutput)) throw new CheckFailure(`npm install -g warned EBADENGINE on Node ${process.version}:\n${installOutput}`);
  pass(`npm install -g <tarball> --prefix <temp> on Node ${process.version}: ${((Date.now() - started) / 1000).toFixed(0)} s, no EBADENGINE warning`);

  const workyard = path.join(prefix, 'bin', 'workyard');
  const version = run(workyard, ['--version'], { cwd: work, timeoutMs: 30_000 }).trim();
  if (version !== manifest.version) throw new CheckFailure(`workyard --version printed ${JSON.stringify(version)}, expected ${manifest.version}`);
  pass(`workyard --version: ${version}`);
  const help = run(workyard, ['--help'], { cwd: work, timeoutMs: 30_000 });
  if (!/usage: workyard/.test(help)) throw new CheckFailure(`workyard --help printed no usage:\n${help}`);
  pass('workyard --help prints the usage');

  const port = await freePort();
  const dataDir = path.join(work, 'data');
  const child = spawn(workyard, ['start'], {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', WORKYARD_PORT: String(port), WORKYARD_DATA_DIR: dataDir, WORKYARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  try {
    const ms = await waitForHealthz(`http://127.0.0.1:${port}`, 60_000, exited, () => output);
    pass(`workyard start (installed, NODE_ENV=production, empty data dir): /healthz 200 after ${Math.round(ms)} ms`);
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    if (code !== 0) throw new CheckFailure(`workyard start exited ${code} on SIGTERM:\n${output}`);
  }
  pass('workyard start stops on SIGTERM with exit code 0');
  return checked;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-package-'));
const deadline = setTimeout(() => {
  console.error('package check: not done within 10 minutes');
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(1);
}, 10 * 60_000);
try {
  const checked = await main(work);
  console.log(`package check passed: ${checked.length} checks`);
  process.exitCode = 0;
} catch (error) {
  console.error(`package check FAILED: ${error instanceof CheckFailure ? error.message : error instanceof Error ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  fs.rmSync(work, { recursive: true, force: true });
}
