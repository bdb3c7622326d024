// Write-behind in one process: an API app with no worker (so uploads wait), and a worker app on
// the same data directory that is started when a test wants the uploads to happen.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { createBlobsModule } from './index.js';
import { blobPath, rawRequest } from '../../../test/support/blobs.js';

const blobs = createBlobsModule({ leaseMs: 4_000, sweepAfterMs: 300, sweepEveryMs: 100 });
const env = { WORKYARD_BLOBS_WRITE_BEHIND: 'true' };

describe('write-behind (embedded: SQLite fast tier, disk store)', () => {
  let dataDir: string;
  let api: TestWorkyard;
  let worker: TestWorkyard | null = null;
  const inject = (options: InjectOptions) => api.workyard.app.inject(options);
  const store = () => api.workyard.ctx.blobs;
  const tier = () => api.workyard.instanceOf(blobs).service.writeBehind!.tier;
  const unfinishedUploads = async () => {
    const counts = (await api.workyard.ctx.queue.counts())['blobs.upload'];
    return (counts?.queued ?? 0) + (counts?.active ?? 0);
  };
  const startWorker = async () => {
    worker = await startTestWorkyard({ ...env, WORKYARD_DATA_DIR: dataDir }, { api: false, worker: true, modules: [blobs], infra: { queuePollMs: 50 } });
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-write-behind-'));
    api = await startTestWorkyard({ ...env, WORKYARD_DATA_DIR: dataDir }, { worker: false, modules: [blobs] });
  });
  afterEach(async () => {
    await worker?.close();
    worker = null;
  });
  afterAll(async () => {
    await api?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('acknowledges a small put from the fast tier, serves it from there, and uploads it once a worker runs', async () => {
    const bytes = randomBytes(50_000);
    const put = await inject({ method: 'PUT', url: '/blobs/wb/small', headers: { 'content-type': 'image/webp' }, payload: bytes });
    expect(put.statusCode).toBe(201);
    expect(await store().head('wb/small')).toBeNull();
    expect(await tier().head('wb/small')).toMatchObject({ size: 50_000, etag: put.json().etag });

    const get = await inject({ url: '/blobs/wb/small' });
    expect(get.rawPayload.equals(bytes)).toBe(true);
    expect(get.headers).toMatchObject({ 'content-type': 'image/webp', etag: put.json().etag });
    expect((await inject({ url: '/blobs/wb/small', headers: { range: 'bytes=10-19' } })).rawPayload.equals(bytes.subarray(10, 20))).toBe(true);
    expect((await inject({ method: 'HEAD', url: '/blobs/wb/small' })).headers['content-length']).toBe('50000');
    expect((await inject({ url: '/blobs?prefix=wb/' })).json().items.map((item: { key: string }) => item.key)).toContain('wb/small');

    await startWorker();
    await expect.poll(() => tier().head('wb/small'), { timeout: 15_000 }).toBeNull();
    const stored = await store().get('wb/small');
    expect(stored!.meta).toMatchObject({ etag: put.json().etag, contentType: 'image/webp', size: 50_000 });
    expect((await readAll(stored!.body)).equals(bytes)).toBe(true);
    expect((await inject({ url: '/blobs/wb/small' })).rawPayload.equals(bytes)).toBe(true);
  });

  it('streams a put above 1 MB straight to the store', async () => {
    const bytes = randomBytes(1024 * 1024 + 1);
    expect((await inject({ method: 'PUT', url: '/blobs/wb/large', payload: bytes })).statusCode).toBe(201);
    expect(await tier().head('wb/large')).toBeNull();
    expect((await store().head('wb/large'))!.size).toBe(bytes.length);
  });

  it('sorts a chunked body by its size once read: small to the fast tier, large to the store', async () => {
    const small = randomBytes(1024 * 1024);
    const large = randomBytes(1024 * 1024 + 10);
    const chunks = (bytes: Buffer) => Readable.from(Array.from({ length: Math.ceil(bytes.length / 100_000) }, (_, i) => bytes.subarray(i * 100_000, (i + 1) * 100_000)));
    expect((await rawRequest(api.baseUrl, { method: 'PUT', path: '/blobs/wb/chunked-small', body: chunks(small) })).status).toBe(201);
    expect((await rawRequest(api.baseUrl, { method: 'PUT', path: '/blobs/wb/chunked-large', body: chunks(large) })).status).toBe(201);
    expect((await tier().get('wb/chunked-small'))!.bytes.equals(small)).toBe(true);
    expect(await tier().head('wb/chunked-large')).toBeNull();
    expect((await readAll((await store().get('wb/chunked-large'))!.body)).equals(large)).toBe(true);
  });

  it('a later small put replaces a pending one; the older upload finds itself superseded', async () => {
    await inject({ method: 'PUT', url: '/blobs/wb/versions', payload: 'first' });
    await inject({ method: 'PUT', url: '/blobs/wb/versions', payload: 'second' });
    expect((await inject({ url: '/blobs/wb/versions' })).body).toBe('second');
    await startWorker();
    await expect.poll(() => tier().head('wb/versions'), { timeout: 15_000 }).toBeNull();
    expect((await readAll((await store().get('wb/versions'))!.body)).toString()).toBe('second');
    const jobs = await api.workyard.ctx.queue.listRecent({ name: 'blobs.upload', limit: 100 });
    const outcomes = jobs.filter((job) => (job.data as { key: string }).key === 'wb/versions').map((job) => (job.result as { outcome: string } | null)?.outcome);
    // One upload, of the newer version; the older job (and any the sweeper added) found nothing to do.
    expect(outcomes.filter((outcome) => outcome === 'uploaded')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== 'uploaded').every((outcome) => outcome === 'gone')).toBe(true);
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
  });

  it('uploads a pending small version before a large put of the same key, so the large one wins', async () => {
    await inject({ method: 'PUT', url: '/blobs/wb/order', payload: 'small and older' });
    const large = randomBytes(2 * 1024 * 1024);
    expect((await inject({ method: 'PUT', url: '/blobs/wb/order', payload: large })).statusCode).toBe(201);
    expect(await tier().head('wb/order')).toBeNull();
    await startWorker();
    // Even with a worker running the older version's job, the store keeps the newer bytes.
    await expect.poll(() => unfinishedUploads(), { timeout: 15_000 }).toBe(0);
    expect((await readAll((await store().get('wb/order'))!.body)).equals(large)).toBe(true);
  });

  it('deletes a pending blob: gone at once and never uploaded', async () => {
    await inject({ method: 'PUT', url: '/blobs/wb/deleted', payload: 'short-lived' });
    expect((await inject({ method: 'DELETE', url: '/blobs/wb/deleted' })).statusCode).toBe(204);
    expect((await inject({ url: '/blobs/wb/deleted' })).statusCode).toBe(404);
    await startWorker();
    await expect.poll(() => unfinishedUploads(), { timeout: 15_000 }).toBe(0);
    expect(await store().head('wb/deleted')).toBeNull();
  });

  it('lists pending and stored blobs together in key order', async () => {
    await store().put('mix/b', Buffer.from('stored'));
    await store().put('mix/d', Buffer.from('stored, old'));
    for (const key of ['mix/a', 'mix/c', 'mix/d']) await inject({ method: 'PUT', url: blobPath(key), payload: `pending ${key}` });
    const page = (await inject({ url: '/blobs?prefix=mix/' })).json();
    expect(page.items.map((item: { key: string; size: number }) => [item.key, item.size])).toEqual([['mix/a', 13], ['mix/b', 6], ['mix/c', 13], ['mix/d', 13]]);
    const first = (await inject({ url: '/blobs?prefix=mix/&limit=2' })).json();
    expect(first.items.map((item: { key: string }) => item.key)).toEqual(['mix/a', 'mix/b']);
    const second = (await inject({ url: `/blobs?prefix=mix/&limit=2&cursor=${first.next_cursor}` })).json();
    expect(second.items.map((item: { key: string }) => item.key)).toEqual(['mix/c', 'mix/d']);
  });

  it('the sweeper queues an entry whose job is gone', async () => {
    // An entry as a crash between the fast tier's commit and the enqueue would leave it: no job.
    await tier().put({ key: 'wb/orphan', version: 'orphan-1', bytes: Buffer.from('orphan'), size: 6, etag: '"x"', contentType: 'text/plain', lastModified: Date.now() }, Date.now() - 1);
    await startWorker();
    await expect.poll(() => tier().head('wb/orphan'), { timeout: 15_000 }).toBeNull();
    expect((await readAll((await store().get('wb/orphan'))!.body)).toString()).toBe('orphan');
  });
});
