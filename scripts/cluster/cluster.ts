// Starts the scaled shape on one machine: API processes (`workyard serve`) and worker processes
// (`workyard worker`) on Redis + PostgreSQL + an S3 server, behind nginx. Used by `npm run
// cluster` and by the cluster test suite, which kills and restarts processes through it.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { findNginx, nginxConfig, startNginx } from './nginx.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ClusterOptions {
  apis?: number;
  workers?: number;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  s3: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  /** nginx's port (0: a free one) */
  port?: number;
  /** extra WORKYARD_* variables for every process */
  env?: Record<string, string>;
  /** where logs and the nginx config go */
  dir?: string;
}

export interface ClusterProcess {
  role: 'api' | 'worker';
  index: number;
  port: number;
  url: string;
  child: ChildProcess;
  logFile: string;
}

export interface Cluster {
  url: string;
  dir: string;
  apis: ClusterProcess[];
  workers: ClusterProcess[];
  /** SIGKILLs a process, waiting until it is gone */
  kill(process: ClusterProcess): Promise<void>;
  /** starts a killed process again on the same port */
  restart(process: ClusterProcess): Promise<ClusterProcess>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForReady(url: string, child: ChildProcess, logFile: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url} exited before it was ready; its log (${logFile}):\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms; its log:\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is missing: apt-get install nginx-light');
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-cluster-'));
  fs.chmodSync(dir, 0o755);
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    WORKYARD_DATABASE_URL: options.databaseUrl,
    WORKYARD_REDIS_URL: options.redisUrl,
    WORKYARD_REDIS_PREFIX: options.redisPrefix,
    WORKYARD_S3_ENDPOINT: options.s3.endpoint,
    WORKYARD_S3_BUCKET: options.s3.bucket,
    WORKYARD_S3_ACCESS_KEY_ID: options.s3.accessKeyId,
    WORKYARD_S3_SECRET_ACCESS_KEY: options.s3.secretAccessKey,
    WORKYARD_S3_FORCE_PATH_STYLE: 'true',
    WORKYARD_HOST: '127.0.0.1',
    WORKYARD_DATA_DIR: path.join(dir, 'data'),
    ...options.env,
  };

  const launch = (role: 'api' | 'worker', index: number, port: number): ClusterProcess => {
    const logFile = path.join(dir, `${role}-${index}.log`);
    const log = fs.openSync(logFile, 'a');
    const env = { ...baseEnv, ...(role === 'api' ? { WORKYARD_PORT: String(port) } : { WORKYARD_WORKER_PORT: String(port) }) };
    const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', path.join(root, 'src/main.ts'), role === 'api' ? 'serve' : 'worker'], {
      cwd: root,
      env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    return { role, index, port, url: `http://127.0.0.1:${port}`, child, logFile };
  };

  const processes: ClusterProcess[] = [];
  let nginxProcess: ChildProcess | undefined;
  const stop = async () => {
    nginxProcess?.kill('SIGQUIT');
    await Promise.all(processes.map((p) => stopProcess(p.child)));
    if (nginxProcess) await stopProcess(nginxProcess);
  };
  try {
    // The first process runs the migrations; the others would wait on the migration lock anyway.
    const apis: ClusterProcess[] = [];
    const workers: ClusterProcess[] = [];
    const first = launch('api', 0, await freePort());
    processes.push(first);
    apis.push(first);
    await waitForReady(first.url, first.child, first.logFile);
    for (let i = 1; i < (options.apis ?? 2); i++) apis.push(launch('api', i, await freePort()));
    for (let i = 0; i < (options.workers ?? 2); i++) workers.push(launch('worker', i, await freePort()));
    processes.push(...apis.slice(1), ...workers);
    await Promise.all(processes.map((p) => waitForReady(p.url, p.child, p.logFile)));

    const port = options.port || (await freePort());
    nginxProcess = startNginx(nginx, dir, nginxConfig({ port, dir, upstreams: apis.map((a) => `127.0.0.1:${a.port}`) }));
    const url = `http://127.0.0.1:${port}`;
    await waitForReady(url, nginxProcess, path.join(dir, 'error.log'), 10_000);

    return {
      url,
      dir,
      apis,
      workers,
      async kill(target) {
        await stopProcess(target.child, 'SIGKILL');
      },
      async restart(target) {
        await stopProcess(target.child, 'SIGKILL');
        const again = launch(target.role, target.index, target.port);
        processes[processes.indexOf(target)] = again;
        const list = target.role === 'api' ? apis : workers;
        list[list.indexOf(target)] = again;
        await waitForReady(again.url, again.child, again.logFile);
        return again;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}
