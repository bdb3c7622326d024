// A graceful shutdown (SIGTERM → infra.close(shutdown timeout)) while Redis is unreachable: the
// BullMQ driver's close(graceMs) returns within the grace period plus a small margin instead of
// waiting for Redis forever, and nothing queued before the outage is lost once Redis is back.
// On private redis-servers (append-only file on), never the shared one.
import { afterAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../../test/support/fault-proxy.js';
import { openTestQueue } from '../../../test/support/queue-harness.js';
import { type PrivateRedis, startPrivateRedis } from '../../../test/support/redis-server.js';
import { needService } from '../../../test/support/services.js';
import type { JobQueue } from './contract.js';

// redis-server must be installed; the shared Redis answering says it is (CI installs both).
const ok = await needService('redis');

const GRACE_MS = 1_500;
/** what close may take beyond the grace period: timers, dropping sockets, a busy machine */
const MARGIN_MS = 700;

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

describe.skipIf(!ok)('bullmq driver: close() while Redis is unreachable', () => {
  const servers: PrivateRedis[] = [];
  const proxies: FaultProxy[] = [];
  const queues: JobQueue[] = [];
  const open = async (url: string) => {
    const queue = await openTestQueue({ dataDir: '.', redisUrl: url, redisPrefix: 'shutdown', dependencyTimeoutMs: 800 }, { leaseMs: 2_000, stalledCheckMs: 500 });
    queues.push(queue);
    return queue;
  };
  const privateRedis = async () => {
    const redis = await startPrivateRedis();
    servers.push(redis);
    return redis;
  };

  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close(0)));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all(servers.map((redis) => redis.stop()));
  });

  it('with a job running: waits the grace period for it, no longer, and loses none of the queued jobs', async () => {
    const redis = await privateRedis();
    const first = await open(redis.url);
    // The first job holds the only slot until shutdown aborts it; the rest stay queued behind it.
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    first.process<number, number>('shutdown-job', async (job) => {
      started();
      await new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason as Error)));
      return job.data;
    });
    const ids = await first.enqueueBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'shutdown-job', data: i })));
    await first.startWorkers();
    await running;

    await redis.takeDown();
    const took = await timed(() => first.close(GRACE_MS));
    expect(took).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(took).toBeLessThan(GRACE_MS + MARGIN_MS);

    await redis.start();
    const second = await open(redis.url);
    second.process<number, number>('shutdown-job', async (job) => job.data * 10);
    await second.startWorkers();
    // The aborted job's lock lapses and it runs again (stalled); the queued ones run once each.
    const finished = await Promise.all(ids.map((id) => second.waitForFinish<number, number>(id, 30_000)));
    expect(finished.map((job) => [job.state, job.result])).toEqual(ids.map((_, i) => ['completed', i * 10]));
  });

  it('idle, with event readers open: returns at once instead of waiting for Redis (it used to hang)', async () => {
    const redis = await privateRedis();
    const queue = await open(redis.url);
    queue.process<number, number>('idle-job', async (job) => job.data + 1);
    await queue.startWorkers();
    const job = await queue.enqueue('idle-job', 1);
    // Waiting opens a QueueEvents reader: a second blocking connection to close.
    expect(await queue.waitForFinish(job.id, 10_000)).toMatchObject({ state: 'completed', result: 2 });
    const queued = await queue.enqueue('idle-job', 41, { delayMs: 60_000 });

    await redis.takeDown();
    // Past the first reconnection attempts: every connection is retrying.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await timed(() => queue.close(GRACE_MS))).toBeLessThan(GRACE_MS + MARGIN_MS);

    await redis.start();
    const reader = await open(redis.url);
    expect(await reader.getJob(queued.id)).toMatchObject({ state: 'delayed', data: 41 });
  });

  it('behind a network partition (connections open, nothing answers): returns within the grace period', async () => {
    const redis = await privateRedis();
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.port });
    proxies.push(proxy);
    const queue = await open(`redis://127.0.0.1:${proxy.port}`);
    queue.process<number, number>('partition-job', async (job) => job.data + 1);
    await queue.startWorkers();
    const job = await queue.enqueue('partition-job', 1);
    expect(await queue.waitForFinish(job.id, 10_000)).toMatchObject({ state: 'completed', result: 2 });

    proxy.blackhole();
    expect(await timed(() => queue.close(GRACE_MS))).toBeLessThan(GRACE_MS + MARGIN_MS);
  });
});
