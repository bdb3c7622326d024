// Helpers the blobs tests share: raw HTTP where app.inject cannot do it (chunked bodies, a body
// cut off midway, a 413 answered before the body is sent), waiting for uploads to finish, and a
// redis-server of the test's own (with or without the append-only file).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { freePort } from '../../../test/support/s3rver.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP request over a real socket; `body` streams (chunked unless a content-length header is given). */
export function rawRequest(baseUrl: string, options: { method: string; path: string; headers?: Record<string, string | number>; body?: Readable | Buffer }): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method, headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    if (!options.body) request.end();
    else if (Buffer.isBuffer(options.body)) request.end(options.body);
    else {
      // The server may answer (413) and close before the body is sent: that is not our error.
      options.body.on('error', (error) => request.destroy(error));
      options.body.pipe(request);
    }
  });
}

/** Polls until the check passes or the time is up (then throws with the last failure). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}

export const blobPath = (key: string) => '/blobs/' + key.split('/').map(encodeURIComponent).join('/');

function answersPing(port: number): Promise<boolean> {
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

/** A redis-server of our own, with or without the append-only file the Redis tier requires. */
export async function startPrivateRedis(appendOnly: boolean): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-blobs-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'always', '--save', '', '--loglevel', 'warning'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
