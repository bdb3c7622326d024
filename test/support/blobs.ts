// Helpers the blobs tests share: raw HTTP where app.inject cannot do it (chunked bodies, a body
// cut off midway, a 413 answered before the body is sent), and what a test reads past Workyard:
// the S3 store itself and the uploads write-behind still owes it.
import http from 'node:http';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { S3BlobStore } from '../../src/infra/blobstore/s3.js';
import { openDatabase } from '../../src/infra/db/database.js';
import { tablesOf } from './tables.js';

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

export const blobPath = (key: string) => '/blobs/' + key.split('/').map(encodeURIComponent).join('/');

/** The S3 store that `env` (WORKYARD_S3_*) points Workyard at, opened directly. */
export function openS3Store(env: Record<string, string>): S3BlobStore {
  return new S3BlobStore(loadConfig(env).s3!, { timeoutMs: 10_000 });
}

export interface PendingUploads {
  /** blobs acknowledged into the fast tier and not yet in the store; `held`: only those a worker is uploading */
  count(options?: { held?: boolean }): Promise<number>;
  close(): Promise<void>;
}

/** Write-behind's pending uploads in the PostgreSQL database at `url`, counted straight from SQL. */
export function openPendingUploads(url: string): PendingUploads {
  const database = openDatabase({ url, dataDir: os.tmpdir(), timeoutMs: 10_000 });
  return {
    async count({ held = false } = {}) {
      let query = tablesOf(database).selectFrom('fast_tier_pending').select((eb) => eb.fn.countAll<number>().as('count'));
      if (held) query = query.where('upload_token', 'is not', null);
      return Number((await query.executeTakeFirstOrThrow()).count);
    },
    close: () => database.close(),
  };
}
