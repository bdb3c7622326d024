// Where unfinished resumable uploads (tus) keep their bytes until they land in the blob store:
// the maintained tus stores, chosen like the blob store — files under the data dir (embedded), or
// S3 (scaled), where an upload is an S3 multipart upload and its state (offset, metadata) lives in
// S3 itself, so a PATCH can reach any API node. Uploads get a bucket of their own: the blob
// bucket's listing must not show half-uploaded objects.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { FileStore } from '@tus/file-store';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import type { KvStore } from '@tus/server';
import type { FastifyBaseLogger } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '../../config.js';

export interface UploadStore {
  readonly driver: 'disk' | 's3';
  /** the tus data store the server writes to */
  readonly datastore: FileStore | S3Store;
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

/** S3 multipart parts: 8 MiB (S3's minimum is 5 MiB); the s3 store raises it for huge uploads. */
const S3_PART_SIZE = 8 * 1024 * 1024;

export function openUploadStore(config: Config, log: FastifyBaseLogger): UploadStore {
  const expirationPeriodInMilliseconds = config.blobs.uploadExpiryMs;
  if (!config.s3) {
    const directory = path.join(config.dataDir, 'uploads');
    fs.mkdirSync(directory, { recursive: true });
    const datastore = new FileStore({ directory, expirationPeriodInMilliseconds });
    return {
      driver: 'disk',
      datastore,
      read: async (id) => datastore.read(id),
      remove: (id) => datastore.remove(id).catch(() => undefined),
      sweepExpired: () => datastore.deleteExpired(),
      ready: async () => undefined,
      close: async () => undefined,
    };
  }
  const s3 = config.s3;
  const bucket = s3.uploadsBucket ?? `${s3.bucket}-uploads`;
  const clientConfig = {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined,
    // As in s3.ts: S3-compatible servers do not all understand the SDK's default aws-chunked checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  // Our own client to make the bucket, which the tus store does not do.
  const client = new S3Client({ ...clientConfig, maxAttempts: 2 });
  const bucketReady = ensureBucket(client, bucket, log);
  const datastore = new CompleteRemovalS3Store({ partSize: S3_PART_SIZE, expirationPeriodInMilliseconds, cache: NO_CACHE, s3ClientConfig: { ...clientConfig, bucket } });
  return {
    driver: 's3',
    datastore,
    read: (id) => datastore.read(id) as Promise<Readable>,
    remove: (id) => datastore.remove(id).catch(() => undefined),
    sweepExpired: () => datastore.deleteExpired(),
    ready: () => bucketReady,
    close: async () => {
      await bucketReady;
      client.destroy();
    },
  };
}

/**
 * The s3 store's remove leaves an upload's incomplete last part (`<id>.part`) behind, and removes
 * nothing of a finished upload (it fails on aborting a multipart upload that was completed): this
 * one deletes every object of the upload whatever the abort said, and still reports a missing upload.
 */
class CompleteRemovalS3Store extends S3Store {
  override async remove(id: string): Promise<void> {
    try {
      await super.remove(id);
    } finally {
      await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: [{ Key: id }, { Key: this.infoKey(id) }, { Key: this.partKey(id, true) }] } });
    }
  }
}

/**
 * The s3 store caches an upload's metadata in memory by default; with several API nodes that copy
 * goes stale once another node finished or removed the upload (this node would still answer
 * for it). Every request reads the metadata from S3 instead: one HEAD of a small object.
 */
const NO_CACHE: KvStore<MetadataValue> = {
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => undefined,
};

/** The uploads bucket is made when missing; a store that cannot make buckets needs it made beforehand. */
async function ensureBucket(client: S3Client, bucket: string, log: FastifyBaseLogger): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') log.warn({ err: error, bucket }, 'could not create the uploads bucket; resumable uploads fail until it exists');
  }
}
