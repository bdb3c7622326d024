// Starting and stopping the real command, as a person or a process manager does: `npm start`
// stopped by SIGTERM to npm (the signal must reach the server, nothing may stay behind) and by a
// terminal's Ctrl-C; the first lines saying where to go; and start-up failures told in one line
// that names the setting to change, without a stack trace.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { freePort } from '../support/free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STARTED_WITHIN_MS = 60_000;
const STOPPED_WITHIN_MS = 15_000;

interface Started {
  child: ChildProcess;
  output(): string;
  /** the process itself ended */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** and every process holding its output did too (its whole output is read) */
  closed: Promise<void>;
}

const started: Started[] = [];
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-start-up-'));
  tempDirs.push(dir);
  return dir;
}

/** Runs a command in a process group of its own (so that the test can signal it as a terminal does). */
function run(command: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), npm_config_update_notifier: 'false', WORKYARD_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A command that cannot be spawned fails its test at once with the reason, instead of leaving it to time out.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const entry = { child, output: () => output, exited, closed };
  started.push(entry);
  return entry;
}

/** The server as npm start runs it, without npm: for what the server itself prints. */
const SERVER_ARGS = [...NODE_FLAGS, '--import', 'tsx', 'src/main.ts', 'start'];
const runServer = (env: Record<string, string>) => run(process.execPath, SERVER_ARGS, env);

/**
 * The server with `dir` mounted read-only, as a read-only volume is: in a mount namespace of its
 * own, so nothing outside sees the mount. Root writes through any permission bits, but not
 * through a read-only mount; and the test's Node may sit where another user cannot run it.
 */
const runServerOnReadOnlyDir = (dir: string, env: Record<string, string>) =>
  run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', dir, process.execPath, ...SERVER_ARGS], env);

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // the command name, in parentheses, may hold spaces: fields are counted after it
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid !== parent) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

/** npm start on a free port and an empty data dir, answering /healthz. */
async function npmStart(): Promise<{ npm: Started; port: number; tree: number[] }> {
  const port = await freePort();
  const npm = run('npm', ['start'], { WORKYARD_PORT: String(port), WORKYARD_DATA_DIR: tempDir(), WORKYARD_SHUTDOWN_TIMEOUT_MS: '2000' });
  await vi.waitFor(async () => expect(await healthy(port), `npm start answering /healthz; output:\n${npm.output()}`).toBe(true), { timeout: STARTED_WITHIN_MS, interval: 100 });
  const tree = descendants(npm.child.pid!);
  expect(tree.length).toBeGreaterThan(0);
  return { npm, port, tree };
}

async function expectAllGone(npm: Started, port: number, tree: number[]): Promise<void> {
  await vi.waitFor(() => expect(tree.filter((pid) => alive(pid)), `processes of npm start still alive; output:\n${npm.output()}`).toEqual([]), { timeout: STOPPED_WITHIN_MS, interval: 100 });
  expect(await portOpen(port)).toBe(false);
}

afterEach(async () => {
  // Whatever a failed test left running: each was started in a group of its own.
  for (const { child } of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('npm start', () => {
  it('says where to go; SIGTERM to npm reaches the server, which stops cleanly, says so and leaves nothing behind', async () => {
    const { npm, port, tree } = await npmStart();
    const base = `http://127.0.0.1:${port}`;
    // /healthz may answer a moment before the line is written
    await expect.poll(() => npm.output(), { timeout: 5_000, interval: 100 }).toContain('Workyard listening');
    expect(npm.output()).toContain(`Workyard listening on ${base} · API docs: ${base}/docs · dashboard: ${base}/dashboard`);

    npm.child.kill('SIGTERM');
    const exit = await Promise.race([npm.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), STOPPED_WITHIN_MS))]);
    expect(exit).toEqual({ code: 0, signal: null });
    await expectAllGone(npm, port, tree);
    await npm.closed;
    const lines = npm.output().split('\n');
    expect(lines.some((line) => line.includes('"msg":"Workyard stopped"') && line.includes('"signal":"SIGTERM"'))).toBe(true);
  });

  it('a Ctrl-C while a task runs stops it cleanly too: the copy npm passes on is not a second Ctrl-C', async () => {
    const { npm, port, tree } = await npmStart();
    const server = tree.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/main.ts'));
    expect(server).toBeDefined();
    // a task the shutdown waits for (within its grace)
    const task = await fetch(`http://127.0.0.1:${port}/async/post_task`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [1, 2], delay_ms: 1_500 }) });
    const { session_id: id } = (await task.json()) as { session_id: string };
    await vi.waitFor(async () => expect(((await (await fetch(`http://127.0.0.1:${port}/tasks/${id}`)).json()) as { status: string }).status, `the task running; output:\n${npm.output()}`).toBe('active'), { timeout: 10_000, interval: 100 });
    // A terminal signals the whole foreground group: the server, and npm, which passes its copy on.
    process.kill(server!, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    npm.child.kill('SIGINT');
    expect(await npm.exited).toEqual({ code: 0, signal: null });
    await expectAllGone(npm, port, tree);
    await npm.closed;
    expect(npm.output()).toContain('"msg":"Workyard stopped"');
    expect(npm.output()).not.toContain('second signal');
  });
});

describe.skipIf(process.platform !== 'linux')('start-up failures: one line naming the cause and the setting, no stack trace', () => {
  async function failedStart(env: Record<string, string>, readOnlyDir?: string) {
    const fullEnv = { WORKYARD_PORT: String(await freePort()), WORKYARD_LOG_LEVEL: 'info', ...env };
    const server = readOnlyDir ? runServerOnReadOnlyDir(readOnlyDir, fullEnv) : runServer(fullEnv);
    const exit = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), STARTED_WITHIN_MS))]);
    expect(exit).toEqual({ code: 1, signal: null });
    await server.closed;
    const output = server.output();
    expect(output).not.toMatch(/^\s+at /m);
    const lines = output.trim().split('\n').filter((line) => line.startsWith('workyard:'));
    expect(lines).toHaveLength(1);
    return { line: lines[0], output };
  }

  it('the port is in use: names WORKYARD_PORT; the trace is logged at debug level', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { line } = await failedStart({ WORKYARD_PORT: String(port), WORKYARD_DATA_DIR: tempDir() });
      expect(line).toBe(`workyard: cannot start: port ${port} on 127.0.0.1 is already in use (another Workyard or another program): set WORKYARD_PORT to a free port, or stop the other program`);
      const debug = runServer({ WORKYARD_PORT: String(port), WORKYARD_DATA_DIR: tempDir(), WORKYARD_LOG_LEVEL: 'debug' });
      await debug.closed;
      const traced = debug.output().split('\n').find((l) => l.includes('"msg":"start-up failed"'));
      expect(traced).toContain('"level":20');
      expect(traced).toContain('EADDRINUSE');
      expect(traced).toContain('"stack"');
    } finally {
      blocker.close();
    }
  });

  it('the data dir is a file', async () => {
    const file = path.join(tempDir(), 'data');
    fs.writeFileSync(file, 'not a directory');
    const { line } = await failedStart({ WORKYARD_DATA_DIR: file });
    expect(line).toBe(`workyard: cannot start: the data directory ${file} is a file, not a directory: set WORKYARD_DATA_DIR to a directory this process can write`);
  });

  it('the data dir lies under a file', async () => {
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, '');
    const { line } = await failedStart({ WORKYARD_DATA_DIR: path.join(file, 'data') });
    expect(line).toBe(`workyard: cannot start: the data directory ${path.join(file, 'data')} cannot exist: a part of its path is a file: set WORKYARD_DATA_DIR to a directory this process can write`);
  });

  it('the data dir is not writable (as root: a read-only mount of it, as a read-only volume; else its permission bits)', async () => {
    const dir = tempDir();
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) fs.chmodSync(dir, 0o555);
    const { line } = await failedStart({ WORKYARD_DATA_DIR: dir }, asRoot ? dir : undefined);
    const code = asRoot ? 'EROFS' : 'EACCES';
    expect(line).toMatch(new RegExp(`^workyard: cannot start: the data directory ${dir} is not writable by this process \\(uid \\d+\\) \\(${code}\\): set WORKYARD_DATA_DIR to a directory this process can write$`));
  });
});
