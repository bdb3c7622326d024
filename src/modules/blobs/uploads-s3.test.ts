// Resumable uploads (tus) on S3: the upload is an S3 multipart upload whose state lives in S3, in
// a bucket of its own; it lands as the blob its metadata names; and a client cut midway at one API
// node resumes at another from the offset S3 holds. The S3 here is moto's server, not s3rver:
// s3rver has no ListParts nor AbortMultipartUpload, which @tus/s3-store is built on (moto.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, rawRequest } from '../../../test/support/blobs.js';
import { type MotoHandle, startMoto } from '../../../test/support/moto.js';
import { createTestDatabase } from '../../../test/support/services.js';
import { sha256OfUrl, startTusUpload, writeDeterministicFile } from '../../../test/support/tus.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { type BlobsInstance, blobsModule } from './index.js';

const TUS = { 'tus-resumable': '1.0.0' };
const MB = 1024 * 1024;

let s3: MotoHandle;
let nodeA: TestWorkyard;
let nodeB: TestWorkyard;
let scratch: string;
let database: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  s3 = await startMoto();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-tus-s3-'));
  // Two API nodes as the scaled shape runs them: their own data dirs, one S3, one PostgreSQL
  // (which holds the upload locks).
  database = await createTestDatabase();
  const env = { ...s3.env('tus-blobs'), WORKYARD_DATABASE_URL: database.url };
  nodeA = await startTestWorkyard(env);
  nodeB = await startTestWorkyard(env);
}, 60_000);
afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
  await database?.drop();
  await s3?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('resumable uploads on S3', () => {
  it('lands a chunked tus-js-client upload as the blob, and keeps uploads out of the blob listing', async () => {
    const file = path.join(scratch, 'full.bin');
    const sha256 = await writeDeterministicFile(file, 13 * MB + 5, 'full');
    const run = startTusUpload(nodeA.baseUrl, fs.createReadStream(file), { chunkSize: 3 * MB, metadata: { key: 'tus/s3/full.bin', 'content-type': 'application/x-test', sha256 } });
    // While unfinished, the upload is not a blob.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (run.sent() > 0 || run.upload.url) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const { url } = await run.done;
    const listing = JSON.parse((await rawRequest(nodeA.baseUrl, { method: 'GET', path: '/blobs?prefix=' })).body.toString()) as { items: { key: string }[] };
    expect(listing.items.map((item) => item.key)).toEqual(['tus/s3/full.bin']);
    const got = await sha256OfUrl(nodeB.baseUrl + blobPath('tus/s3/full.bin'));
    expect(got).toMatchObject({ status: 200, size: 13 * MB + 5, sha256, contentType: 'application/x-test' });
    expect((await rawRequest(nodeA.baseUrl, { method: 'HEAD', path: new URL(url).pathname, headers: TUS })).status).toBe(404);
  }, 60_000);

  it('resumes at another node an upload cut midway at the first, from the offset S3 holds', async () => {
    const size = 24 * MB;
    const file = path.join(scratch, 'two-nodes.bin');
    const sha256 = await writeDeterministicFile(file, size, 'two-nodes');
    // PATCHes of 2 MB: the one in flight at 90 % (20 to 22 MB) is cut before the upload can finish.
    const first = startTusUpload(nodeA.baseUrl, fs.createReadStream(file), {
      chunkSize: 2 * MB,
      metadata: { key: 'tus/s3/two-nodes.bin' },
      onAt: (sent, total, run) => {
        if (sent >= total * 0.9) void run.upload.abort();
      },
    });
    // abort() settles neither callback: wait for the cut, then for node A to have stored what came.
    await expect.poll(() => first.sent(), { timeout: 30_000 }).toBeGreaterThanOrEqual(size * 0.9);
    const location = new URL(first.upload.url!).pathname;
    await expect
      .poll(async () => Number((await rawRequest(nodeB.baseUrl, { method: 'HEAD', path: location, headers: TUS })).headers['upload-offset'] ?? -1), { timeout: 15_000 })
      .toBeGreaterThan(0);
    const offset = Number((await rawRequest(nodeB.baseUrl, { method: 'HEAD', path: location, headers: TUS })).headers['upload-offset']);
    expect(offset).toBeLessThan(size);

    const second = startTusUpload(nodeB.baseUrl, fs.createReadStream(file), { uploadUrl: nodeB.baseUrl + location, metadata: { key: 'tus/s3/two-nodes.bin' } });
    await second.done;
    // The second client sent only what S3 did not hold: its PATCHes started at the offset.
    expect(second.patchOffsets[0]).toBe(offset);
    const got = await sha256OfUrl(nodeA.baseUrl + blobPath('tus/s3/two-nodes.bin'));
    expect(got).toMatchObject({ status: 200, size, sha256 });
  }, 120_000);

  it('terminates at one node an upload made at the other: S3 keeps nothing of it', async () => {
    const run = startTusUpload(nodeA.baseUrl, Buffer.alloc(3 * MB, 7), { chunkSize: MB, metadata: { key: 'tus/s3/terminated' }, onAt: (sent, _total, self) => {
      if (sent >= MB) void self.upload.abort();
    } });
    await expect.poll(() => run.sent(), { timeout: 15_000 }).toBeGreaterThanOrEqual(MB);
    const location = new URL(run.upload.url!).pathname;
    await expect.poll(async () => (await rawRequest(nodeB.baseUrl, { method: 'HEAD', path: location, headers: TUS })).status).toBe(200);
    await Upload.terminate(nodeB.baseUrl + location);
    expect((await rawRequest(nodeA.baseUrl, { method: 'HEAD', path: location, headers: TUS })).status).toBe(404);
    const id = location.split('/').pop()!;
    const left = await listUploadsBucket('tus-blobs-uploads');
    expect(left.filter((key) => key.startsWith(id))).toEqual([]);
  }, 60_000);
});

describe('unfinished uploads on S3 expire', () => {
  let node: TestWorkyard;
  beforeAll(async () => {
    node = await startTestWorkyard({ ...s3.env('tus-expiring'), WORKYARD_BLOBS_UPLOAD_EXPIRY_MS: '1000' });
  });
  afterAll(() => node?.close());

  it('answers 410 past Upload-Expires, and the sweep aborts the multipart upload and deletes its objects', async () => {
    const created = await rawRequest(node.baseUrl, { method: 'POST', path: '/uploads', headers: { ...TUS, 'upload-length': 100, 'upload-metadata': `key ${Buffer.from('tus/s3/expiring').toString('base64')}` } });
    expect(created.status).toBe(201);
    expect(created.headers['upload-expires']).toBeTruthy();
    const location = created.headers.location!;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const late = await rawRequest(node.baseUrl, { method: 'PATCH', path: location, headers: { ...TUS, 'upload-offset': 0, 'content-type': 'application/offset+octet-stream', 'content-length': 10 }, body: Buffer.alloc(10) });
    expect(late.status).toBe(410);
    const uploads = node.workyard.instanceOf<BlobsInstance>(blobsModule).uploads;
    expect(await uploads.sweepExpired()).toBeGreaterThanOrEqual(1);
    const id = location.split('/').pop()!;
    expect((await listUploadsBucket('tus-expiring-uploads')).filter((key) => key.startsWith(id))).toEqual([]);
    expect((await rawRequest(node.baseUrl, { method: 'HEAD', path: location, headers: TUS })).status).toBe(404);
  }, 60_000);
});

/** The keys in a bucket of the S3 server, read past Workyard. */
async function listUploadsBucket(bucket: string): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  } finally {
    client.destroy();
  }
}
