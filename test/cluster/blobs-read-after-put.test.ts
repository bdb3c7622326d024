// Read-after-put across nodes: two API processes on one S3 store (s3rver), 1,000 puts through
// the first, each read through the second the moment its put returned. Write-through (the put
// returns once S3 has the object) and write-behind (it returns once the shared fast tier, here
// PostgreSQL, has it; the second node serves it from there until it is uploaded).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlobsProcess, startBlobsProcess } from '../support/blobs-process.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { createTestDatabase, needService } from '../support/services.js';
import { openPendingUploads, openS3Store } from '../support/blobs.js';

const PUTS = 1_000;
const CHAINS = 8;

const postgresUp = await needService('postgres');
let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.stop());

async function putThenReadElsewhere(writer: string, reader: string, prefix: string): Promise<{ mismatches: string[]; worstMs: number }> {
  const mismatches: string[] = [];
  let worstMs = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: CHAINS }, async () => {
      while (next < PUTS) {
        const i = next++;
        const key = `${prefix}/${i}`;
        const bytes = randomBytes(1024 + (i % 4) * 1024);
        const started = performance.now();
        const put = await fetch(`${writer}/blobs/${key}`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/x-test' } });
        if (put.status !== 201) {
          mismatches.push(`${key}: put answered ${put.status} ${await put.text()}`);
          continue;
        }
        await put.arrayBuffer();
        const got = await fetch(`${reader}/blobs/${key}`);
        const body = Buffer.from(await got.arrayBuffer());
        worstMs = Math.max(worstMs, performance.now() - started);
        if (got.status !== 200 || !body.equals(bytes) || got.headers.get('content-type') !== 'application/x-test') {
          mismatches.push(`${key}: read ${got.status}, ${body.length} bytes`);
        }
      }
    }),
  );
  return { mismatches, worstMs };
}

describe('read-after-put across two API processes on one s3rver store', () => {
  const dirs: string[] = [];
  let nodes: BlobsProcess[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-rap-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('write-through: every one of 1,000 puts through node A reads back at once through node B', async () => {
    const env = { ...s3.env('read-after-put'), WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' };
    nodes = await Promise.all([startBlobsProcess('serve', { ...env, WORKYARD_DATA_DIR: tempDir() }), startBlobsProcess('serve', { ...env, WORKYARD_DATA_DIR: tempDir() })]);
    const { mismatches, worstMs } = await putThenReadElsewhere(nodes[0].address, nodes[1].address, 'through');
    console.log(`[blobs] read-after-put, write-through: ${PUTS} puts, worst put+read ${worstMs.toFixed(0)} ms`);
    expect(mismatches).toEqual([]);
    await Promise.all(nodes.map((node) => node.stop()));
    nodes = [];
  }, 300_000);

  it.skipIf(!postgresUp)('write-behind: the same, the fast tier in a shared PostgreSQL, then every object reaches the store', async () => {
    const database = await createTestDatabase();
    try {
      const env = { ...s3.env('read-after-put-behind'), WORKYARD_DATABASE_URL: database.url, WORKYARD_BLOBS_WRITE_BEHIND: 'true', WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' };
      // Node A also runs the upload workers; node B only serves.
      nodes = [await startBlobsProcess('start', { ...env, WORKYARD_DATA_DIR: tempDir() })];
      nodes.push(await startBlobsProcess('serve', { ...env, WORKYARD_DATA_DIR: tempDir() }));
      const { mismatches, worstMs } = await putThenReadElsewhere(nodes[0].address, nodes[1].address, 'behind');
      console.log(`[blobs] read-after-put, write-behind: ${PUTS} puts, worst put+read ${worstMs.toFixed(0)} ms`);
      expect(mismatches).toEqual([]);
      // Uploaded in the end: the fast tier drains, and the store itself (read through the S3
      // driver, not through Workyard) holds every object.
      const pending = openPendingUploads(database.url);
      await expect.poll(() => pending.count(), { timeout: 120_000, interval: 250 }).toBe(0);
      await pending.close();
      const store = openS3Store(env);
      let stored = 0;
      let cursor: string | undefined;
      do {
        const page = await store.list({ prefix: 'behind/', limit: 1000, cursor });
        stored += page.items.length;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      await store.close();
      expect(stored).toBe(PUTS);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      nodes = [];
      await database.drop();
    }
  }, 300_000);
});
