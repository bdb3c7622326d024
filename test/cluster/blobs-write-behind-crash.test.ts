// Write-behind survives a worker killed mid-upload. An API process acknowledges 100 small blobs
// into the fast tier (PostgreSQL); a worker uploads them to s3rver through a proxy slowed to a
// trickle, so its uploads are in flight when it gets SIGKILL. Every acknowledged blob must stay
// readable throughout, and once a new worker runs, every one must end up in the store, whole.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PendingUploads, openPendingUploads, openS3Store } from '../support/blobs.js';
import { type BlobsProcess, startBlobsProcess } from '../support/blobs-process.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { createTestDatabase, needService } from '../support/services.js';

const BLOBS = 100;
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/** A TCP proxy that passes answers freely but lets requests through at `bytesPerSecond`. */
async function startTrickleProxy(targetPort: number, bytesPerSecond: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    const queue: Buffer[] = [];
    client.on('data', (chunk: Buffer) => queue.push(chunk));
    const tick = setInterval(() => {
      let budget = bytesPerSecond / 10;
      while (budget > 0 && queue.length) {
        const chunk = queue.shift()!;
        const part = chunk.subarray(0, budget);
        if (part.length < chunk.length) queue.unshift(chunk.subarray(part.length));
        upstream.write(part);
        budget -= part.length;
      }
    }, 100);
    const end = () => {
      clearInterval(tick);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const postgresUp = await needService('postgres');

describe.skipIf(!postgresUp)('write-behind with a worker killed mid-upload', () => {
  let s3: S3rverHandle;
  let proxy: Awaited<ReturnType<typeof startTrickleProxy>>;
  let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
  let pending: PendingUploads;
  const processes: BlobsProcess[] = [];
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-wb-crash-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    s3 = await startS3rver();
    proxy = await startTrickleProxy(s3.port, 20_000);
    testDatabase = await createTestDatabase();
    pending = openPendingUploads(testDatabase.url);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await pending?.close();
    await testDatabase?.drop();
    await proxy?.close();
    await s3?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing it acknowledged: readable throughout, and finally all in the store', async () => {
    const common = { WORKYARD_DATABASE_URL: testDatabase.url, WORKYARD_BLOBS_WRITE_BEHIND: 'true', WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000', BLOBS_TEST_LEASE_MS: '3000' };
    const direct = { ...common, ...s3.env('crash') };
    const trickled = { ...direct, WORKYARD_S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` };
    const api = await startBlobsProcess('serve', { ...direct, WORKYARD_DATA_DIR: tempDir() });
    processes.push(api);
    const doomed = await startBlobsProcess('worker', { ...trickled, WORKYARD_DATA_DIR: tempDir() });
    processes.push(doomed);

    const sent = new Map<string, string>();
    for (let i = 0; i < BLOBS; i++) {
      const key = `crash/${i}`;
      const bytes = randomBytes(50_000 + i * 1000);
      const put = await fetch(`${api.address}/blobs/${key}`, { method: 'PUT', body: bytes });
      expect(put.status).toBe(201);
      sent.set(key, md5(bytes));
    }

    // The worker is in the middle of uploads (holding their leases) when it dies.
    await expect.poll(() => pending.count({ held: true }), { timeout: 30_000 }).toBeGreaterThan(0);
    await doomed.kill();
    const pendingAtKill = await pending.count();
    console.log(`[blobs] worker killed with ${pendingAtKill} of ${BLOBS} blobs not yet uploaded`);
    expect(pendingAtKill).toBeGreaterThan(0);

    // Nothing acknowledged is missing while no worker runs.
    for (const [key, hash] of sent) {
      const got = await fetch(`${api.address}/blobs/${key}`);
      expect(got.status, key).toBe(200);
      expect(md5(Buffer.from(await got.arrayBuffer())), key).toBe(hash);
    }

    processes.push(await startBlobsProcess('worker', { ...direct, WORKYARD_DATA_DIR: tempDir() }));
    await expect.poll(() => pending.count(), { timeout: 120_000, interval: 250 }).toBe(0);

    // In the store itself, read past Workyard: every blob, byte for byte.
    const store = openS3Store(direct);
    for (const [key, hash] of sent) {
      const object = await store.get(key);
      expect(object, key).not.toBeNull();
      expect(md5(await readAll(object!.body)), key).toBe(hash);
    }
    await store.close();
  }, 300_000);
});
