// The two ways the BullMQ driver reads a page filtered by state (bullmq-list-jobs.ts) give the same
// pages: reading the state's few jobs whole, and walking the created-time set (what a state
// holding many jobs takes). The conformance suite reaches the first with its few jobs; here the
// threshold is lowered to 0 so that the walk serves the same filters.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import type { JobFilter, JobQueue } from './contract.js';
import { checkedJobFilter } from './job-filter.js';
import { WorkyardRedisKeys } from './bullmq-keys.js';
import { type ListingDeps, listBullJobs } from './bullmq-list-jobs.js';

const setup = await queueSetup('bullmq');

describe.skipIf(!setup.available)('BullMQ listing: a state read whole and a walk agree', () => {
  let dispose: () => Promise<void>;
  let queue: JobQueue;
  let redis: Redis;
  let deps: ListingDeps;
  const queues: Queue[] = [];

  beforeAll(async () => {
    const created = await setup.create();
    dispose = created.dispose;
    queue = await openTestQueue(created.config);
    redis = new Redis(created.config.redisUrl!, { maxRetriesPerRequest: 1 });
    deps = {
      redis,
      keys: new WorkyardRedisKeys(created.config.redisPrefix),
      queueFor: (name) => {
        const q = new Queue(name, { connection: redis, prefix: created.config.redisPrefix });
        queues.push(q);
        return q;
      },
      fetchRecord: (id) => queue.getJob(id),
    };
  });

  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await queue?.close(500);
    redis?.disconnect();
    await dispose?.();
  });

  it('pages the same jobs in the same order, whichever way it reads them', async () => {
    const name = 'walk-or-read';
    queue.process<{ i: number }, number>(name, async (job) => {
      if (job.data.i % 3 === 0) throw new Error('a third fail');
      return job.data.i;
    }, { concurrency: 8 });
    await queue.enqueueBulk(Array.from({ length: 30 }, (_, i) => ({ name, data: { i } })));
    await queue.enqueueBulk(Array.from({ length: 12 }, (_, i) => ({ name, data: { i }, options: { delayMs: 60_000, group: i % 2 ? 'g' : 'h' } })));
    await queue.startWorkers();
    await vi.waitUntil(async () => {
      const counts = (await queue.counts())[name];
      return counts !== undefined && counts.completed + counts.failed === 30;
    }, { timeout: 15_000, interval: 50 });

    const pages = async (filter: JobFilter, smallState?: number) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await listBullJobs({ ...deps, smallState }, checkedJobFilter({ ...filter, cursor }));
        ids.push(...page.jobs.map((job) => job.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    };
    for (const filter of [{ name, state: 'failed', limit: 3 }, { name, state: 'completed', limit: 7 }, { state: 'delayed', group: 'g', limit: 2 }, { name, state: 'queued' }] as JobFilter[]) {
      const read = await pages(filter);
      expect(await pages(filter, 0)).toEqual(read);
      expect(read.length).toBe({ failed: 10, completed: 20, delayed: 6, queued: 0 }[filter.state as string]);
    }
  });
});
