// An S3-compatible server for tests and benchmarks: s3rver in a child process of its own, on a
// free loopback port, keeping its objects in a temporary directory. A child process (not s3rver
// inside the test process) keeps its memory out of the RSS tests and lets a test kill it to see
// the store go down.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface S3rverHandle {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  directory: string;
  /** WORKYARD_S3_* variables that point Workyard at this server and bucket */
  env(bucket: string): Record<string, string>;
  /** stops the server; the directory is removed unless keepData */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** s3rver checks request signatures against these fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

// CommonJS, because s3rver is; it prints its address once it listens.
// s3rver 3.7 answers a PUT once the body has passed its MD5 hash, before its file holds the bytes
// (putObject resolves on the hash stream's 'finish', not the file's): a GET in the next
// milliseconds could read the object empty — 200 with 0 bytes, once in 1,000 puts under load in
// the cluster suite's read-after-put. S3 reads its own writes; so does this server: its answer
// waits until the file is as long as what it stored (the GET reads the size from the file).
const SERVER_SCRIPT = `
const fs = require('node:fs');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const putObject = FilesystemStore.prototype.putObject;
FilesystemStore.prototype.putObject = async function (object) {
  const stored = await putObject.call(this, object);
  const file = this.getResourcePath(object.bucket, object.key, 'object');
  for (const until = Date.now() + 10000; fs.statSync(file).size < stored.size && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 1));
  return stored;
};
const S3rver = require('s3rver');
const server = new S3rver({ address: '127.0.0.1', port: Number(process.env.S3RVER_PORT || 0), directory: process.env.S3RVER_DIR, silent: true });
server.run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'), (error) => { console.error(error); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
`;

export async function startS3rver(options: { port?: number; directory?: string } = {}): Promise<S3rverHandle> {
  const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-s3rver-'));
  // s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SERVER_SCRIPT], {
    cwd: process.cwd(),
    env: { ...process.env, S3RVER_DIR: directory, S3RVER_PORT: String(options.port ?? 0) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within 15 s: ${stderr}`));
    }, 15_000);
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code}: ${stderr}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    directory,
    env: (bucket) => ({
      WORKYARD_S3_ENDPOINT: endpoint,
      WORKYARD_S3_BUCKET: bucket,
      WORKYARD_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      WORKYARD_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      WORKYARD_S3_FORCE_PATH_STYLE: 'true',
    }),
    async stop({ keepData = false } = {}) {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (!exited) child.kill('SIGKILL');
      }
      if (!keepData && !options.directory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
