// The BullMQ driver with Redis going away and coming back, on a private redis-server (never the
// shared one): calls answer 503 naming redis within a second, and work resumes when Redis is
// back, with no restart, both for a driver started before Redis and for one that lost it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError } from '../../errors.js';
import { openTestQueue } from '../../../test/support/queue-harness.js';
import { PrivateRedis, startPrivateRedis } from '../../../test/support/redis-server.js';
import { needService } from '../../../test/support/services.js';
import type { JobQueue } from './contract.js';

// redis-server must be installed; the shared Redis answering says it is (CI installs both).
const ok = await needService('redis');

async function expectFast503(call: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  expect((error as DependencyUnavailableError).dependency).toBe('redis');
  expect(Date.now() - started).toBeLessThan(1_000);
}

describe.skipIf(!ok)('bullmq driver: Redis down and back', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-redis-outage-'));
  let redis: PrivateRedis;
  const queues: JobQueue[] = [];
  const open = async (url: string) => {
    const queue = await openTestQueue({ dataDir: dir, redisUrl: url, redisPrefix: 'outage', dependencyTimeoutMs: 800 }, { leaseMs: 2_000 });
    queues.push(queue);
    return queue;
  };

  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close(0)));
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 within a second while Redis is down and resumes by itself when it is back', async () => {
    redis = await startPrivateRedis();
    const queue = await open(redis.url);
    queue.process<number, number>('outage-job', async (job) => job.data * 2);
    await queue.startWorkers();
    const before = await queue.enqueue('outage-job', 1);
    expect(await queue.waitForFinish(before.id, 10_000)).toMatchObject({ state: 'completed', result: 2 });

    // A clean shutdown writes the append-only file: the finished job is still there when it is back.
    await redis.takeDown();
    await expectFast503(() => queue.enqueue('outage-job', 2));
    await expectFast503(() => queue.enqueueBulk([{ name: 'outage-job', data: 3 }]));
    await expectFast503(() => queue.getJob(before.id));
    await expectFast503(() => queue.cancel(before.id));
    await expectFast503(() => queue.counts());
    await expectFast503(() => queue.ping());
    await expectFast503(() => queue.waitForFinish(before.id, 5_000));

    await redis.start();
    await vi.waitFor(() => queue.ping(), { timeout: 10_000, interval: 100 });
    const after = await vi.waitFor(() => queue.enqueue('outage-job', 21), { timeout: 5_000, interval: 100 });
    // The worker's blocking connection reconnects by itself and takes the new job.
    expect(await queue.waitForFinish(after.id, 15_000)).toMatchObject({ state: 'completed', result: 42 });
    expect(await queue.getJob(before.id)).toMatchObject({ state: 'completed', result: 2 });
  });

  it('a driver started while Redis is down answers 503, then works once Redis comes up', async () => {
    const late = await PrivateRedis.create();
    const queue = await open(late.url);
    queue.process<number, number>('late-job', async (job) => job.data + 1);
    await queue.startWorkers();
    await expectFast503(() => queue.enqueue('late-job', 1));
    await expectFast503(() => queue.ping());
    await late.start();
    try {
      const job = await vi.waitFor(() => queue.enqueue('late-job', 41), { timeout: 10_000, interval: 100 });
      expect(await queue.waitForFinish(job.id, 15_000)).toMatchObject({ state: 'completed', result: 42 });
    } finally {
      await queue.close(0);
      await late.stop();
    }
  });
});
