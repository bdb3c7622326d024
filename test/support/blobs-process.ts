// Starts Workyard with the blobs module in a process of its own (blobs-child.ts), for the tests
// that need separate processes: two API nodes on one store, a worker killed mid-upload, the
// memory of a 100 MB put.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BlobsProcess {
  child: ChildProcess;
  /** http://127.0.0.1:port (a worker serves its probes on a port too) */
  address: string;
  memory(): Promise<{ rss: number; peak: number }>;
  resetPeak(): Promise<void>;
  /** graceful */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'blobs-child.ts');

/** Starts a child; resolves once it serves. */
export async function startBlobsProcess(kind: 'start' | 'serve' | 'worker', env: Record<string, string>): Promise<BlobsProcess> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, childScript, kind], {
    cwd: path.resolve(path.dirname(childScript), '../..'),
    env: { ...process.env, WORKYARD_PORT: '0', WORKYARD_WORKER_PORT: '0', WORKYARD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${kind} process did not start within 60 s`)), 60_000);
    child.once('message', (message: { address?: string }) => {
      clearTimeout(timer);
      resolve(message.address ?? '');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${kind} process exited with code ${code} before serving`));
    });
  });
  const ask = <T>(request: string) =>
    new Promise<T>((resolve) => {
      child.once('message', (message) => resolve(message as T));
      child.send(request);
    });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    child,
    address,
    memory: () => ask('memory'),
    resetPeak: () => ask<void>('reset-peak'),
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

