// A private redis-server for tests that must stop, slow or cut Redis without touching the shared
// one: its own free port, its own temporary directory, append-only file on (as in production)
// unless a test needs a Redis that forgets.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface PrivateRedisOptions {
  /** Off for a Redis that loses everything on a restart (what some tiers must refuse). */
  appendOnly?: boolean;
  /** 'everysec' as in production; 'always' where a test must not lose an acknowledged write. */
  appendFsync?: 'always' | 'everysec';
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

class PortTakenError extends Error {}

/**
 * A redis-server that keeps its port and directory while it is taken down, so that `start()`
 * brings it back where its clients point (with its data, when the append-only file is on).
 */
export class PrivateRedis {
  readonly url: string;
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: PrivateRedisOptions,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Chooses a free port and a directory without starting anything (for "Redis comes up late"). */
  static async create(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-redis-')), options);
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server (again, after `takeDown`; nothing if it runs) and resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.running) return;
    const { appendOnly = true, appendFsync = 'everysec' } = this.options;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', appendFsync, '--save', '', '--protected-mode', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    this.child = child;
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + 5_000;
    while (!exited && Date.now() < deadline && !(await answersPing(this.port))) await new Promise((resolve) => setTimeout(resolve, 50));
    if (exited) throw new PortTakenError(`redis-server exited at start on port ${this.port}`);
    if (!(await answersPing(this.port))) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on port ${this.port}`);
    }
  }

  /**
   * Ends the process, keeping port and directory for `start()`: SIGTERM shuts down cleanly
   * (writing the append-only file), SIGKILL is a crash. A server slow to go is killed after 5 s.
   */
  async takeDown(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await gone;
    }
  }

  /** Ends the server for good and removes its directory. */
  async stop(): Promise<void> {
    await this.takeDown();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A private Redis, started and answering; another port is tried if this one was taken meanwhile. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const redis = await PrivateRedis.create(options);
    try {
      await redis.start();
      return redis;
    } catch (error) {
      await redis.stop();
      if (!(error instanceof PortTakenError)) throw error;
    }
  }
  throw new Error('could not start a private redis-server');
}
