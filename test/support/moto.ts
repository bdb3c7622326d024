// An S3-compatible server with the whole multipart API, for what s3rver lacks: s3rver answers
// ListParts, AbortMultipartUpload and ListMultipartUploads with 405/501, and resumable uploads on
// S3 (@tus/s3-store) are built on exactly those. moto's server (Python, in the machine's image)
// runs in a child process on a free loopback port, keeping objects in its memory.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface MotoHandle {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** WORKYARD_S3_* variables that point Workyard at this server and bucket */
  env(bucket: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The first Python that has moto's server: WORKYARD_TEST_PYTHON, else each python3 on PATH, else
 * pyenv's. The machine's image has moto in pyenv's Python only, and a PATH that puts /usr/bin first
 * (CI's run on the machine's Node) would otherwise find the system Python without it.
 */
function pythonWithMoto(): string {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'python3'));
  const pyenvRoot = process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');
  const pyenv = [path.join(pyenvRoot, 'shims', 'python3'), ...(fs.existsSync(path.join(pyenvRoot, 'versions')) ? fs.readdirSync(path.join(pyenvRoot, 'versions')).map((v) => path.join(pyenvRoot, 'versions', v, 'bin', 'python3')) : [])];
  const candidates = [...(process.env.WORKYARD_TEST_PYTHON ? [process.env.WORKYARD_TEST_PYTHON] : []), ...onPath, ...pyenv].filter((file, i, all) => all.indexOf(file) === i && fs.existsSync(file));
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import moto.server'], { stdio: 'ignore', timeout: 20_000 }).status === 0) return python;
  }
  return candidates[0] ?? 'python3';
}

const PYTHON = pythonWithMoto();

export async function startMoto(): Promise<MotoHandle> {
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  let output = '';
  child.once('exit', () => (exited = true));
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`moto's server did not start (${PYTHON} -m moto.server; the machine's Python needs the moto package): ${output}`);
    const up = await fetch(endpoint, { signal: AbortSignal.timeout(1_000) }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto's server did not answer within 20 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    env: (bucket) => ({
      WORKYARD_S3_ENDPOINT: endpoint,
      WORKYARD_S3_BUCKET: bucket,
      WORKYARD_S3_ACCESS_KEY_ID: 'moto',
      WORKYARD_S3_SECRET_ACCESS_KEY: 'moto',
      WORKYARD_S3_FORCE_PATH_STYLE: 'true',
    }),
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
