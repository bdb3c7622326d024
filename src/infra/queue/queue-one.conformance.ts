// Conformance cases of queue I (issue #17) every driver passes: run times (runAt, the delayed
// state), priorities, keys (keep, replace, debounce, their TTL) and timeouts. Groups and
// schedules have suites of their own (queue-groups.conformance.ts, schedules/).
import { describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../errors.js';
import { type JobQueue, TIMEOUT_ERROR_PREFIX } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeQueueOneConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance, run times, priorities, keys, timeouts: ${label}`, () => {
    const { open, uniqueName } = useQueueInstances(setup);

    describe('run times', () => {
      it('runs a job at its runAt, not before; it is delayed until then, and its record says when', async () => {
        const queue = await open();
        const name = uniqueName('run-at');
        queue.process(name, async () => 'on time');
        await queue.startWorkers();
        const runAt = Date.now() + 700;
        const job = await queue.enqueue(name, null, { runAt });
        expect(job).toMatchObject({ state: 'delayed', runAt });
        await sleep(150);
        expect(await queue.getJob(job.id)).toMatchObject({ state: 'delayed', runAt });
        expect((await queue.counts())[name]).toMatchObject({ delayed: 1, queued: 0 });
        const done = await queue.waitForFinish(job.id, 10_000);
        expect(done.state).toBe('completed');
        expect(done.startedAt!).toBeGreaterThanOrEqual(runAt - 5);
      });

      it('runs a job whose runAt has passed at once, and refuses runAt with delayMs', async () => {
        const queue = await open();
        const name = uniqueName('run-at-past');
        queue.process(name, async () => 'now');
        await queue.startWorkers();
        const job = await queue.enqueue(name, null, { runAt: Date.now() - 60_000 });
        expect(job.state).toBe('queued');
        expect((await queue.waitForFinish(job.id, 10_000)).state).toBe('completed');
        await expect(queue.enqueue(name, null, { runAt: Date.now() + 1_000, delayMs: 10 })).rejects.toBeInstanceOf(RangeError);
        await expect(queue.enqueue(name, null, { runAt: Number.NaN })).rejects.toBeInstanceOf(RangeError);
      });

      it('a retry waiting for its backoff is delayed, with the error of the run that failed', async () => {
        const queue = await open();
        const name = uniqueName('retry-delayed');
        queue.process(name, async (job) => {
          if (job.attempt === 1) throw new Error('first run fails');
          return 'second run';
        });
        await queue.startWorkers();
        const { id } = await queue.enqueue(name, null, { attempts: 2, backoffMs: 1_500 });
        await vi.waitUntil(async () => (await queue.getJob(id))?.state === 'delayed', { timeout: 10_000, interval: 20 });
        expect(await queue.getJob(id)).toMatchObject({ state: 'delayed', error: 'first run fails', attempts: 1 });
        expect(await queue.waitForFinish(id, 10_000)).toMatchObject({ state: 'completed', result: 'second run', attempts: 2 });
      });
    });

    describe('priorities', () => {
      it('runs 1,000 due jobs of mixed priorities in priority order, first in first out within one', async () => {
        const queue = await open();
        const name = uniqueName('priority');
        const order: number[] = [];
        queue.process<{ i: number; priority: number }, void>(name, async (job) => {
          order.push(job.data.i);
        });
        // Priorities cycle so that every priority's jobs are spread over the whole enqueue order;
        // one job in ten has the default priority (5), given by leaving the option out.
        const jobs = Array.from({ length: 1_000 }, (_, i) => {
          const priority = i % 10 === 9 ? 5 : ((i * 7) % 10) + 1;
          return { name, data: { i, priority }, options: i % 10 === 9 ? undefined : { priority } };
        });
        const ids = [...(await queue.enqueueBulk(jobs.slice(0, 500))), ...(await Promise.all(jobs.slice(500).map((job) => queue.enqueue(job.name, job.data, job.options).then((j) => j.id))))];
        expect((await queue.getJob(ids[9]))!.priority).toBe(5);
        expect((await queue.getJob(ids[0]))!.priority).toBe(1);
        // The enqueue() calls above ran concurrently, so FIFO within a priority is checked on the
        // bulk half, whose order is certain.
        await queue.startWorkers();
        await vi.waitUntil(() => order.length === 1_000, { timeout: 60_000, interval: 50 });
        const priorities = order.map((i) => jobs[i].data.priority);
        expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
        for (let p = 1; p <= 10; p++) {
          const bulkRun = order.filter((i) => i < 500 && jobs[i].data.priority === p);
          expect(bulkRun).toEqual([...bulkRun].sort((a, b) => a - b));
        }
      }, 90_000);

      it('refuses a priority outside 1 to 10 or not whole', async () => {
        const queue = await open();
        const name = uniqueName('bad-priority');
        for (const priority of [0, 11, 2.5, -1]) {
          await expect(queue.enqueue(name, null, { priority })).rejects.toBeInstanceOf(RangeError);
          await expect(queue.enqueueBulk([{ name, data: null, options: { priority } }])).rejects.toBeInstanceOf(RangeError);
        }
      });
    });

    describe('keys', () => {
      it('keep: the first job with a key wins, also once it has finished; other names have keys of their own', async () => {
        const queue = await open();
        const [name, other] = [uniqueName('key-keep'), uniqueName('key-keep-other')];
        const first = await queue.enqueue(name, { n: 1 }, { key: 'k' });
        const second = await queue.enqueue(name, { n: 2 }, { key: 'k', keyMode: 'keep' });
        expect(second).toMatchObject({ id: first.id, data: { n: 1 }, key: 'k' });
        const elsewhere = await queue.enqueue(other, { n: 3 }, { key: 'k' });
        expect(elsewhere.id).not.toBe(first.id);
        queue.process(name, async (job) => job.data);
        await queue.startWorkers();
        expect((await queue.waitForFinish(first.id, 10_000)).state).toBe('completed');
        // no TTL given: the key stays taken while the finished job is kept
        expect(await queue.enqueue(name, { n: 4 }, { key: 'k' })).toMatchObject({ id: first.id, state: 'completed', data: { n: 1 } });
        expect((await queue.counts())[name]).toMatchObject({ completed: 1, queued: 0 });
      });

      it('a key is free again keyTtlMs after its job finished', async () => {
        const queue = await open();
        const name = uniqueName('key-ttl');
        queue.process(name, async (job) => job.data);
        await queue.startWorkers();
        const first = await queue.enqueue(name, 1, { key: 'k', keyTtlMs: 400 });
        expect((await queue.waitForFinish(first.id, 10_000)).state).toBe('completed');
        expect((await queue.enqueue(name, 2, { key: 'k', keyTtlMs: 400 })).id).toBe(first.id);
        await sleep(700);
        const next = await queue.enqueue(name, 3, { key: 'k', keyTtlMs: 400 });
        expect(next.id).not.toBe(first.id);
        expect(await queue.waitForFinish(next.id, 10_000)).toMatchObject({ state: 'completed', result: 3 });
      });

      it('replace: a queued job with the key takes the new data, run time and priority, keeping its id', async () => {
        const queue = await open();
        const name = uniqueName('key-replace');
        const first = await queue.enqueue(name, { v: 1 }, { key: 'k', keyMode: 'replace', delayMs: 60_000, priority: 9 });
        expect(first.state).toBe('delayed');
        const replaced = await queue.enqueue(name, { v: 2 }, { key: 'k', keyMode: 'replace', priority: 2 });
        expect(replaced).toMatchObject({ id: first.id, data: { v: 2 }, priority: 2, state: 'queued' });
        expect(await queue.getJob(first.id)).toMatchObject({ data: { v: 2 }, priority: 2, state: 'queued' });
        const runs: unknown[] = [];
        queue.process(name, async (job) => {
          runs.push(job.data);
          return job.data;
        });
        await queue.startWorkers();
        expect(await queue.waitForFinish(first.id, 10_000)).toMatchObject({ state: 'completed', result: { v: 2 } });
        await sleep(200);
        expect(runs).toEqual([{ v: 2 }]);
        expect((await queue.counts())[name]).toMatchObject({ completed: 1, queued: 0, delayed: 0 });
      });

      it('debounce: a burst runs once, with the last data, a delay after the last enqueue', async () => {
        const queue = await open();
        const name = uniqueName('key-debounce');
        const runs: { data: unknown; at: number }[] = [];
        queue.process(name, async (job) => {
          runs.push({ data: job.data, at: Date.now() });
          return job.data;
        });
        await queue.startWorkers();
        const ids = new Set<string>();
        let lastEnqueue = 0;
        for (let i = 1; i <= 5; i++) {
          lastEnqueue = Date.now();
          ids.add((await queue.enqueue(name, { i }, { key: 'burst', keyMode: 'debounce', delayMs: 400 })).id);
          await sleep(100);
        }
        expect(ids.size).toBe(1);
        const [id] = ids;
        expect(await queue.waitForFinish(id, 10_000)).toMatchObject({ state: 'completed', result: { i: 5 } });
        await sleep(300);
        expect(runs.map((run) => run.data)).toEqual([{ i: 5 }]);
        expect(runs[0].at).toBeGreaterThanOrEqual(lastEnqueue + 400 - 5);
      });

      it('replace and debounce start a new job once the keyed one has started', async () => {
        const queue = await open();
        const name = uniqueName('key-started');
        // a gate per key mode: the second mode's first job must be held too, not find the first gate open
        let release!: () => void;
        let gate!: Promise<void>;
        queue.process(
          name,
          async (job) => {
            if ((job.data as { v: number }).v === 1) await gate;
            return job.data;
          },
          { concurrency: 2 },
        );
        await queue.startWorkers();
        for (const keyMode of ['replace', 'debounce'] as const) {
          gate = new Promise<void>((resolve) => (release = resolve));
          const key = `started-${keyMode}`;
          const running = await queue.enqueue(name, { v: 1 }, { key, keyMode });
          await vi.waitUntil(async () => (await queue.getJob(running.id))?.state === 'active', { timeout: 10_000, interval: 20 });
          const next = await queue.enqueue(name, { v: 2 }, { key, keyMode });
          expect(next.id).not.toBe(running.id);
          expect(await queue.waitForFinish(next.id, 10_000)).toMatchObject({ state: 'completed', result: { v: 2 } });
          expect((await queue.getJob(running.id))!.data).toEqual({ v: 1 });
          release();
          expect(await queue.waitForFinish(running.id, 10_000)).toMatchObject({ state: 'completed', result: { v: 1 } });
        }
      });

      it('concurrent enqueues of one key on two instances store one job', async () => {
        const [a, b] = [await open(), await open()];
        const name = uniqueName('key-race');
        for (const keyMode of ['keep', 'replace', 'debounce'] as const) {
          const records = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).enqueue(name, { i }, { key: `race-${keyMode}`, keyMode, delayMs: 30_000 })),
          );
          expect(new Set(records.map((record) => record.id)).size).toBe(1);
        }
        expect((await a.counts())[name]).toMatchObject({ delayed: 3, queued: 0 });
      });

      it('refuses a key mode or TTL without a key, and a mode it does not know', async () => {
        const queue = await open();
        const name = uniqueName('key-bad');
        await expect(queue.enqueue(name, null, { keyMode: 'replace' })).rejects.toBeInstanceOf(RangeError);
        await expect(queue.enqueue(name, null, { keyTtlMs: 10 })).rejects.toBeInstanceOf(RangeError);
        await expect(queue.enqueue(name, null, { key: 'k', keyMode: 'sometimes' as never })).rejects.toBeInstanceOf(RangeError);
        await expect(queue.enqueue(name, null, { key: '' })).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('timeouts', () => {
      it('aborts a run past its timeoutMs with a TimeoutError, fails it with a timeout error, and drops its late result', async () => {
        const queue = await open();
        const name = uniqueName('timeout');
        const reasons: unknown[] = [];
        let lateResults = 0;
        queue.process(name, async (job) => {
          job.signal.addEventListener('abort', () => reasons.push(job.signal.reason), { once: true });
          // ignores the signal: still counted failed, and its result comes too late to count
          await sleep(1_200);
          lateResults++;
          return 'too late';
        });
        await queue.startWorkers();
        const job = await queue.enqueue(name, null, { timeoutMs: 250 });
        expect(job.timeoutMs).toBe(250);
        const failed = await queue.waitForFinish(job.id, 10_000);
        expect(failed).toMatchObject({ state: 'failed', result: null, attempts: 1, timeoutMs: 250 });
        expect(failed.error!.startsWith(TIMEOUT_ERROR_PREFIX)).toBe(true);
        expect(failed.finishedAt! - failed.startedAt!).toBeLessThan(1_000);
        expect(reasons).toHaveLength(1);
        expect(reasons[0]).toBeInstanceOf(TimeoutError);
        await vi.waitUntil(() => lateResults === 1, { timeout: 5_000, interval: 20 });
        await sleep(200);
        expect(await queue.getJob(job.id)).toMatchObject({ state: 'failed', result: null });
      });

      it('retries a run that timed out while attempts remain, and a run within its timeout completes', async () => {
        const queue = await open();
        const name = uniqueName('timeout-retry');
        queue.process(name, async (job) => {
          if (job.attempt === 1) await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
          return `attempt ${job.attempt}`;
        });
        await queue.startWorkers();
        const { id } = await queue.enqueue(name, null, { timeoutMs: 200, attempts: 2, backoffMs: 50 });
        expect(await queue.waitForFinish(id, 10_000)).toMatchObject({ state: 'completed', result: 'attempt 2', attempts: 2 });
        await expect(queue.enqueue(name, null, { timeoutMs: 0 })).rejects.toBeInstanceOf(RangeError);
      });
    });

    it('keeps run times, priorities, keys and timeouts across a restart', async () => {
      const before = await open();
      const name = uniqueName('restart-one');
      const runAt = Date.now() + 1_500;
      const job = await before.enqueue(name, { v: 1 }, { runAt, priority: 3, key: 'kept', timeoutMs: 5_000 });
      await before.close(500);
      const after: JobQueue = await open();
      expect(await after.getJob(job.id)).toMatchObject({ state: 'delayed', runAt, priority: 3, key: 'kept', timeoutMs: 5_000 });
      expect((await after.enqueue(name, { v: 2 }, { key: 'kept' })).id).toBe(job.id);
      after.process(name, async (j) => j.data);
      await after.startWorkers();
      const done = await after.waitForFinish(job.id, 10_000);
      expect(done).toMatchObject({ state: 'completed', result: { v: 1 } });
      expect(done.startedAt!).toBeGreaterThanOrEqual(runAt - 5);
    });
  });
}
