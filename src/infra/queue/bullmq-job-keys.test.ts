// Keys on the BullMQ driver beyond what the conformance suite sees: what a replace or debounce
// leaves in Redis (read by another instance), a replace racing a worker, a finished job that no
// longer frees a key a newer job took, chosen ids with keys, and cancelled jobs.
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { toBullId } from './bullmq-keys.js';
import { workyardOptionsOf } from './bullmq-records.js';
import { useQueueInstances } from './queue.conformance.js';

const setup = await queueSetup('bullmq');

describe.skipIf(!setup.available)('BullMQ driver: keys', () => {
  let redisPrefix = '';
  let redisUrl = '';
  const { open, uniqueName } = useQueueInstances(async () => {
    const { config, dispose } = await setup.create();
    redisPrefix = config.redisPrefix;
    redisUrl = config.redisUrl!;
    return { open: (tuning) => openTestQueue(config, tuning), dispose };
  });

  let client: Redis | undefined;
  const redis = () => (client ??= new Redis(redisUrl));
  afterAll(() => client?.disconnect());

  /** The job as another process reads it: BullMQ alone, on a connection of its own. */
  async function bullJob(name: string, id: string): Promise<Job> {
    const connection = new Redis(redisUrl);
    const queue = new Queue(name, { connection, prefix: redisPrefix });
    try {
      const job = await Job.fromId(queue, toBullId(id));
      if (!job) throw new Error(`no job ${id}`);
      return job;
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }

  it('replace takes the new timeout and priority, debounce keeps them; group and key stay, another instance reads them', async () => {
    const [a, b] = [await open(), await open()];
    const name = uniqueName('key-fields');
    const first = await a.enqueue(name, { v: 1 }, { key: 'r', keyMode: 'replace', group: 'example.org', priority: 8, timeoutMs: 1_000, delayMs: 60_000 });
    const replaced = await b.enqueue(name, { v: 2 }, { key: 'r', keyMode: 'replace', priority: 3, timeoutMs: 2_000, delayMs: 30_000 });
    expect(replaced.id).toBe(first.id);
    expect(workyardOptionsOf(await bullJob(name, first.id))).toEqual({ group: 'example.org', key: 'r', timeoutMs: 2_000 });
    expect(await a.getJob(first.id)).toMatchObject({ data: { v: 2 }, priority: 3, timeoutMs: 2_000, group: 'example.org', key: 'r', state: 'delayed' });
    // replace without a timeout drops the old one
    await b.enqueue(name, { v: 3 }, { key: 'r', keyMode: 'replace', delayMs: 30_000 });
    expect(await a.getJob(first.id)).toMatchObject({ data: { v: 3 }, priority: 5, timeoutMs: null });

    const debounced = await a.enqueue(name, { v: 1 }, { key: 'd', keyMode: 'debounce', priority: 2, timeoutMs: 1_500, delayMs: 60_000 });
    const before = Date.now();
    await b.enqueue(name, { v: 2 }, { key: 'd', keyMode: 'debounce', priority: 9, timeoutMs: 9_000, delayMs: 20_000 });
    const record = (await a.getJob(debounced.id))!;
    expect(record).toMatchObject({ data: { v: 2 }, priority: 2, timeoutMs: 1_500, state: 'delayed' });
    expect(record.runAt).toBeGreaterThanOrEqual(before + 20_000);
    expect(record.runAt).toBeLessThan(before + 30_000);
    expect((await a.counts())[name]).toMatchObject({ delayed: 2, queued: 0 });
  });

  it('replacing a job while a worker takes jobs: every job runs once, with data one of the enqueues gave, and the last one is not lost', async () => {
    const [producer, worker] = [await open(), await open()];
    const name = uniqueName('key-replace-race');
    const runs: { id: string; v: number }[] = [];
    worker.process<{ v: number }, number>(
      name,
      async (job) => {
        runs.push({ id: job.id, v: job.data.v });
        return job.data.v;
      },
      { concurrency: 4 },
    );
    await worker.startWorkers();
    const ids = new Set<string>();
    for (let v = 1; v <= 200; v++) ids.add((await producer.enqueue(name, { v }, { key: 'hot', keyMode: 'replace' })).id);
    const last = [...ids].at(-1)!;
    expect(await producer.waitForFinish(last, 10_000)).toMatchObject({ state: 'completed' });
    await vi.waitFor(async () => expect((await producer.counts())[name]).toMatchObject({ queued: 0, delayed: 0, active: 0 }), { timeout: 10_000 });
    // each stored job ran exactly once, and the last enqueue's data ran (nothing enqueued later replaced it)
    expect(runs.map((run) => run.id).sort()).toEqual([...ids].sort());
    expect(runs.some((run) => run.v === 200)).toBe(true);
    expect((await producer.counts())[name].completed).toBe(ids.size);
  });

  it('a job that finishes after a newer job took its key does not free the newer one', async () => {
    const queue = await open();
    const name = uniqueName('key-handover');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    queue.process<{ v: number }, number>(name, async (job) => {
      if (job.data.v === 1) await gate;
      return job.data.v;
    });
    await queue.startWorkers();
    const old = await queue.enqueue(name, { v: 1 }, { key: 'h', keyMode: 'replace', keyTtlMs: 0 });
    await vi.waitUntil(async () => (await queue.getJob(old.id))?.state === 'active', { timeout: 10_000, interval: 20 });
    const newer = await queue.enqueue(name, { v: 2 }, { key: 'h', keyMode: 'replace', delayMs: 60_000, keyTtlMs: 0 });
    expect(newer.id).not.toBe(old.id);
    release();
    expect((await queue.waitForFinish(old.id, 10_000)).state).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await queue.enqueue(name, { v: 3 }, { key: 'h', keyMode: 'keep' })).id).toBe(newer.id);
  });

  it('a cancelled job frees its key; a chosen id with a key is idempotent like any chosen id', async () => {
    const queue = await open();
    const name = uniqueName('key-cancel');
    const first = await queue.enqueue(name, 1, { key: 'c', delayMs: 60_000 });
    expect(await queue.cancel(first.id)).toBe('cancelled');
    const second = await queue.enqueue(name, 2, { key: 'c', delayMs: 60_000 });
    expect(second.id).not.toBe(first.id);
    expect(second).toMatchObject({ state: 'delayed', data: 2, key: 'c' });
    expect(await redis().exists(`${redisPrefix}:_wy:key:${name}:c`)).toBe(1);
    expect(await queue.cancel(second.id)).toBe('cancelled');
    // the key string goes with its cancelled job, rather than staying in Redis for ever
    expect(await redis().exists(`${redisPrefix}:_wy:key:${name}:c`)).toBe(0);

    const chosen = await queue.enqueue(name, 3, { jobId: 'chosen-1', key: 'other' });
    expect(chosen).toMatchObject({ id: 'chosen-1', key: 'other', state: 'queued' });
    expect(await queue.enqueue(name, 4, { jobId: 'chosen-1', key: 'yet-another' })).toMatchObject({ id: 'chosen-1', data: 3 });
    expect(await queue.enqueue(name, 5, { jobId: first.id, key: 'fresh' })).toMatchObject({ id: first.id, state: 'cancelled' });
  });

  it('enqueueBulk: keyed jobs go through the key, plain ones are added, ids in order', async () => {
    const queue = await open();
    const name = uniqueName('key-bulk');
    const kept = await queue.enqueue(name, 0, { key: 'b', delayMs: 60_000 });
    const ids = await queue.enqueueBulk([
      { name, data: 1, options: { delayMs: 60_000 } },
      { name, data: 2, options: { key: 'b', delayMs: 60_000 } },
      { name, data: 3, options: { key: 'new', delayMs: 60_000, priority: 1 } },
    ]);
    expect(ids[1]).toBe(kept.id);
    expect(new Set(ids).size).toBe(3);
    expect(await queue.getJob(ids[2])).toMatchObject({ data: 3, key: 'new', priority: 1, state: 'delayed' });
    expect((await queue.counts())[name]).toMatchObject({ delayed: 3 });
  });
});
