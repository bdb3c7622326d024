// Where unfinished resumable uploads (tus) keep their bytes until they land in the blob store:
// the maintained tus stores, chosen like the blob store — files under the data dir (embedded), or
// S3 (scaled), where an upload is an S3 multipart upload and its state (offset, metadata) lives in
// S3 itself, so a PATCH can reach any API node. Uploads get a bucket of their own: the blob
// bucket's listing must not show half-uploaded objects.
import type { FileStore } from '@tus/file-store';
import type { S3Store } from '@tus/s3-store';
import type { FastifyBaseLogger } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '../../config.js';

export interface UploadStore {
  readonly driver: 'disk' | 's3';
  /** the tus data store the server writes to (on disk, made with the first upload: see below) */
  datastore(): Promise<FileStore | S3Store>;
  /** the bytes of a finished upload */
  read(id: string): Promise<Readable>;
  /** removes an upload and its bytes; an upload already gone is not an error */
  remove(id: string): Promise<void>;
  /** removes the unfinished uploads past their expiry; resolves with how many */
  sweepExpired(): Promise<number>;
  /** resolves once the store can take uploads (the S3 bucket made); never rejects */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export async function openUploadStore(config: Config, log: FastifyBaseLogger): Promise<UploadStore> {
  const expirationPeriodInMilliseconds = config.blobs.uploadExpiryMs;
  if (!config.s3) {
    const directory = path.join(config.dataDir, 'uploads');
    fs.mkdirSync(directory, { recursive: true });
    // @tus/file-store is loaded with the first upload, not at start (#23: idle memory). A sweep
    // of a directory with nothing in it does not load it either.
    let opening: Promise<FileStore> | undefined;
    const datastore = () => (opening ??= import('@tus/file-store').then(({ FileStore }) => new FileStore({ directory, expirationPeriodInMilliseconds })));
    return {
      driver: 'disk',
      datastore,
      read: async (id) => (await datastore()).read(id),
      remove: (id) => datastore().then((store) => store.remove(id)).catch(() => undefined),
      sweepExpired: async () => ((await fs.promises.readdir(directory)).length === 0 ? 0 : (await datastore()).deleteExpired()),
      ready: async () => undefined,
      close: async () => undefined,
    };
  }
  // the S3 store (and the AWS SDK) is loaded only when S3 is configured
  const { openS3UploadStore } = await import('./upload-store-s3.js');
  return openS3UploadStore(config.s3, expirationPeriodInMilliseconds, log);
}
