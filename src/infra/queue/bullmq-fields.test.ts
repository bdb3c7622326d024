// What the BullMQ driver keeps per job in Redis beyond BullMQ's own fields, read back by another
// process from the job alone (Job.fromId), as the group limits and timeouts need; and run times
// that only the delayed set holds (a retry's backoff).
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deleteRedisPrefix } from '../../../test/support/redis-keys.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { BullmqJobQueue } from './bullmq-queue.js';
import { toBullId } from './bullmq-keys.js';
import { workyardOptionsOf } from './bullmq-records.js';
import { TIMEOUT_ERROR_PREFIX } from './contract.js';

const ok = await needService('redis');

describe.skipIf(!ok)('BullMQ driver: per-job fields kept in Redis', () => {
  const prefix = uniqueRedisPrefix('bull-fields');
  let queue: BullmqJobQueue;
  let reader: Redis;

  beforeAll(() => {
    queue = new BullmqJobQueue({ redisUrl, prefix, timeoutMs: 2_000 });
    reader = new Redis(redisUrl);
  });
  afterAll(async () => {
    await queue.close(500);
    reader.disconnect();
    await deleteRedisPrefix(redisUrl, prefix);
  });

  /** The job as another process sees it: a fresh BullMQ Queue on its own connection. */
  async function readElsewhere(name: string, id: string): Promise<Job> {
    const other = new Queue(name, { connection: reader, prefix });
    try {
      const job = await Job.fromId(other, toBullId(id));
      if (!job) throw new Error(`no job ${id}`);
      return job;
    } finally {
      await other.close();
    }
  }

  it('a job with a group reads back its group through Job.fromId; a job without one reads nulls', async () => {
    const grouped = await queue.enqueue('fields-group', { n: 1 }, { group: 'example.org' });
    const plain = await queue.enqueue('fields-group', { n: 2 });
    expect(workyardOptionsOf(await readElsewhere('fields-group', grouped.id))).toMatchObject({ group: 'example.org' });
    expect(workyardOptionsOf(await readElsewhere('fields-group', plain.id))).toEqual({ group: null, key: null, timeoutMs: null });
    expect(grouped.group).toBe('example.org');
    expect((await queue.getJob(grouped.id))!.group).toBe('example.org');
  });

  it('a worker in another instance applies the timeout the enqueuing instance gave', async () => {
    const worker = new BullmqJobQueue({ redisUrl, prefix, timeoutMs: 2_000 });
    try {
      worker.process('fields-timeout', (job) => new Promise((resolve) => job.signal.addEventListener('abort', () => resolve('aborted'), { once: true })));
      await worker.startWorkers();
      const { id } = await queue.enqueue('fields-timeout', null, { timeoutMs: 150 });
      const failed = await queue.waitForFinish(id, 10_000);
      expect(failed).toMatchObject({ state: 'failed', timeoutMs: 150 });
      expect(failed.error!.startsWith(TIMEOUT_ERROR_PREFIX)).toBe(true);
    } finally {
      await worker.close(500);
    }
  });

  it("a retry reads its due time as runAt: in getJob and listRecent while it waits, and once it runs", async () => {
    const worker = new BullmqJobQueue({ redisUrl, prefix, timeoutMs: 2_000 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    try {
      let failedAt = 0;
      worker.process('fields-retry', async (job) => {
        if (job.attempt === 2) return gate;
        failedAt = Date.now();
        throw new Error('again later');
      });
      await worker.startWorkers();
      const job = await queue.enqueue('fields-retry', null, { attempts: 2, backoffMs: 1_500 });
      await vi.waitUntil(async () => (await queue.getJob(job.id))?.state === 'delayed', { timeout: 10_000, interval: 20 });
      const record = (await queue.getJob(job.id))!;
      expect(record.runAt).toBeGreaterThanOrEqual(failedAt + 1_500 - 50);
      expect(record.runAt).toBeLessThan(failedAt + 1_500 + 1_000);
      const listed = (await queue.listRecent({ name: 'fields-retry' })).find((r) => r.id === job.id);
      expect(listed).toMatchObject({ state: 'delayed', runAt: record.runAt, error: 'again later' });
      // BullMQ forgets the due time once the job is due: the driver kept it
      await vi.waitUntil(async () => (await queue.getJob(job.id))?.state === 'active', { timeout: 10_000, interval: 20 });
      expect((await queue.getJob(job.id))!.runAt).toBe(record.runAt);
    } finally {
      release();
      await worker.close(500);
    }
  });
});
