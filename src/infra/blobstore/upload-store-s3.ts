// Resumable uploads' store on S3 (@tus/s3-store): a multipart upload per upload, its state in S3,
// in a bucket of its own. Loaded by upload-store.ts only when S3 is configured.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import type { KvStore } from '@tus/server';
import type { FastifyBaseLogger } from 'fastify';
import type { Readable } from 'node:stream';
import type { S3Config } from '../../config.js';
import { s3ClientSettings } from './s3.js';
import type { UploadStore } from './upload-store.js';

/** S3 multipart parts: 8 MiB (S3's minimum is 5 MiB); the s3 store raises it for huge uploads. */
const S3_PART_SIZE = 8 * 1024 * 1024;

export function openS3UploadStore(s3: S3Config, expirationPeriodInMilliseconds: number, log: FastifyBaseLogger): UploadStore {
  const bucket = s3.uploadsBucket ?? `${s3.bucket}-uploads`;
  const clientConfig = s3ClientSettings(s3);
  // Our own client to make the bucket, which the tus store does not do.
  const client = new S3Client({ ...clientConfig, maxAttempts: 2 });
  const bucketReady = ensureBucket(client, bucket, log);
  const datastore = new CompleteRemovalS3Store({ partSize: S3_PART_SIZE, expirationPeriodInMilliseconds, cache: NO_CACHE, s3ClientConfig: { ...clientConfig, bucket } });
  return {
    driver: 's3',
    datastore: async () => datastore,
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
