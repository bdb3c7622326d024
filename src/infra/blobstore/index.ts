// Picks the blob store from the configuration: S3 when a bucket (or endpoint) is configured,
// else local disk under the data dir.
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { BlobStore } from './contract.js';
import { DiskBlobStore } from './disk.js';

export async function openBlobStore(config: Config, log?: FastifyBaseLogger): Promise<BlobStore> {
  if (config.s3) {
    // the AWS SDK is loaded only when S3 is configured (about 35 MiB the disk shape never needs)
    const { S3BlobStore } = await import('./s3.js');
    const store = new S3BlobStore(config.s3, { timeoutMs: config.dependencyTimeoutMs, log });
    await store.start();
    return store;
  }
  return new DiskBlobStore({ dir: path.join(config.dataDir, 'blobs'), timeoutMs: config.dependencyTimeoutMs });
}
