// tus-js-client, the real resumable-upload client, as the tests and the benchmark drive it in
// Node; and large deterministic sources that are never whole in memory.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Upload, type UploadOptions } from 'tus-js-client';

/** A Buffer, or a file read as the client slices it (fs.ReadStream: the client seeks to an offset to resume). */
export type TusSource = Buffer | fs.ReadStream;

export interface TusOutcome {
  /** the upload's URL, as the server gave it */
  url: string;
  /** the ETag of the landed blob (the server adds it to the last answer) */
  etag: string | null;
}

export interface TusRun {
  upload: Upload;
  /** resolves when the upload succeeded, rejects with the client's error */
  done: Promise<TusOutcome>;
  /** the offset the client reported reaching so far (its onProgress: where it started plus what it sent) */
  sent(): number;
  /** the Upload-Offset of each PATCH this client sent, in order (the first is where it resumed) */
  patchOffsets: number[];
}

/** Starts an upload with tus-js-client; no retries unless given, nothing remembered between runs. */
export function startTusUpload(baseUrl: string, source: TusSource, options: UploadOptions & { onAt?: (sent: number, total: number, run: TusRun) => void } = {}): TusRun {
  let sent = 0;
  const patchOffsets: number[] = [];
  let upload!: Upload;
  const { onAt, ...rest } = options;
  const done = new Promise<TusOutcome>((resolve, reject) => {
    upload = new Upload(source as Buffer, {
      endpoint: `${baseUrl}/uploads`,
      retryDelays: null,
      storeFingerprintForResuming: false,
      ...rest,
      onBeforeRequest: async (request) => {
        if (request.getMethod() === 'PATCH') patchOffsets.push(Number(request.getHeader('Upload-Offset')));
        await rest.onBeforeRequest?.(request);
      },
      onProgress: (bytesSent, total) => {
        sent = bytesSent;
        onAt?.(bytesSent, total, run);
      },
      onSuccess: ({ lastResponse }) => resolve({ url: upload.url!, etag: lastResponse.getHeader('etag') ?? null }),
      onError: reject,
    });
  });
  const run: TusRun = { upload, done, sent: () => sent, patchOffsets };
  upload.start();
  return run;
}

/** The same bytes every time for one seed: AES-128-CTR over zeros, made as they are read. */
export function deterministicStream(size: number, seed = 'workyard'): Readable {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1024 * 1024);
  let made = 0;
  return new Readable({
    read() {
      if (made >= size) return void this.push(null);
      const length = Math.min(zeros.length, size - made);
      made += length;
      this.push(cipher.update(zeros.subarray(0, length)));
    },
  });
}

/** Writes `size` deterministic bytes to `file`; resolves with their sha-256 (hex). */
export async function writeDeterministicFile(file: string, size: number, seed?: string): Promise<string> {
  const hash = createHash('sha256');
  const source = deterministicStream(size, seed);
  source.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(source, fs.createWriteStream(file));
  return hash.digest('hex');
}

/** GETs a URL and hashes the body as it arrives. */
export function sha256OfUrl(url: string): Promise<{ status: number; size: number; sha256: string; contentType?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        const hash = createHash('sha256');
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          hash.update(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, size, sha256: hash.digest('hex'), contentType: response.headers['content-type'] }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

export const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
export const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export interface TusClientProcess {
  /** resolves with the upload's URL once the child created it */
  url: Promise<string>;
  /** resolves with the offset the child had reached when it stopped itself at `freezeAt` */
  frozen: Promise<number>;
  /** SIGKILL: the client dies as a process does, its connection closed by the kernel */
  kill(): Promise<void>;
}

/**
 * Starts tus-js-client in a child process (tus-client-child.ts), uploading `file` to `baseUrl`;
 * once it has sent `freezeAt` bytes it stops itself, for the test to kill it there.
 */
export function startTusClientProcess(baseUrl: string, file: string, options: { chunkSize: number; metadata: Record<string, string>; freezeAt: number }): TusClientProcess {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tus-client-child.ts');
  const args = [baseUrl, file, String(options.chunkSize), JSON.stringify(options.metadata), String(options.freezeAt)];
  const child = spawn(process.execPath, ['--import', tsx, script, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reported = <T>(pick: (message: { url?: string; frozen?: number; error?: string }) => T | undefined) => {
    const promise = new Promise<T>((resolve, reject) => {
      child.on('message', (message: { url?: string; frozen?: number; error?: string }) => {
        const value = pick(message);
        if (value !== undefined) resolve(value);
        if (message.error) reject(new Error(message.error));
      });
      child.once('exit', () => reject(new Error('the tus client process exited first')));
    });
    promise.catch(() => undefined);
    return promise;
  };
  return {
    url: reported((message) => message.url),
    frozen: reported((message) => message.frozen),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
