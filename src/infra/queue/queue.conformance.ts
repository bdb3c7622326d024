// The one conformance suite every queue driver passes (SQL on SQLite, SQL on PostgreSQL, BullMQ):
// each point of contract.ts, black-box, through the JobQueue interface only. Each test uses job
// names of its own, so tests share one backing store without seeing each other's jobs.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError, TimeoutError } from '../../errors.js';
import { type FinishHook, type JobEvent, type JobQueue, type JobRecord, PermanentJobError } from './contract.js';

export interface QueueHarness {
  /** a new queue instance on the shared backing store (a second call = another process, or a restart) */
  open(tuning?: { leaseMs?: number; onFinished?: FinishHook }): Promise<JobQueue>;
  /** removes the backing store */
  dispose(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface QueueInstances {
  /** a queue on the suite's backing store, closed after the test */
  open(tuning?: { leaseMs?: number; onFinished?: FinishHook }): Promise<JobQueue>;
  /** the harness itself, for a queue the test closes (or abandons) on its own */
  harness(): QueueHarness;
  /** a job name no other test uses */
  uniqueName(what: string): string;
}

/** Inside a describe: sets up the harness before the tests, closes each test's queues after it. */
export function useQueueInstances(setup: () => Promise<QueueHarness>): QueueInstances {
  let harness: QueueHarness;
  const opened: JobQueue[] = [];
  beforeAll(async () => {
    harness = await setup();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((queue) => queue.close(500)));
  });
  afterAll(async () => {
    await harness?.dispose();
  });
  return {
    open: async (tuning) => {
      const queue = await harness.open(tuning);
      opened.push(queue);
      return queue;
    },
    harness: () => harness,
    uniqueName: (what) => `${what}-${randomBytes(4).toString('hex')}`,
  };
}

export function describeQueueConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance: ${label}`, () => {
    const { open, harness, uniqueName } = useQueueInstances(setup);

    it('enqueues a job and reads it back by id; an unknown id is null', async () => {
      const queue = await open();
      const name = uniqueName('plain');
      const before = Date.now();
      const job = await queue.enqueue(name, { numbers: [1, 2, 3] }, { attempts: 3 });
      expect(job).toMatchObject({ name, data: { numbers: [1, 2, 3] }, state: 'queued', attempts: 0, maxAttempts: 3, result: null, error: null, startedAt: null, finishedAt: null });
      expect(job.createdAt).toBeGreaterThanOrEqual(before - 5);
      const read = await queue.getJob(job.id);
      expect(read).toMatchObject({ id: job.id, name, data: { numbers: [1, 2, 3] }, state: 'queued', attempts: 0, maxAttempts: 3, progress: 0 });
      expect(read!.createdAt).toBe(job.createdAt);
      expect(await queue.getJob('no-such-job')).toBeNull();
    });

    it('refuses job names that are not letters, digits, dots, dashes and underscores', async () => {
      const queue = await open();
      for (const name of ['a:b', '', '_private', 'with space', 'x'.repeat(129)]) {
        await expect(queue.enqueue(name, null)).rejects.toBeInstanceOf(RangeError);
        await expect(queue.enqueueBulk([{ name, data: null }])).rejects.toBeInstanceOf(RangeError);
        expect(() => queue.process(name, async () => null)).toThrow(RangeError);
      }
      await expect(queue.enqueue(uniqueName('ok.name_1'), null, { attempts: 0 })).rejects.toBeInstanceOf(RangeError);
    });

    it('a caller-chosen id makes enqueueing idempotent, whatever the id looks like', async () => {
      const queue = await open();
      const name = uniqueName('idem');
      for (const id of [`order-${randomBytes(3).toString('hex')}`, String(100_000 + Math.floor(Math.random() * 1e6)), `a:b:${randomBytes(2).toString('hex')}`]) {
        const first = await queue.enqueue(name, { n: 1 }, { jobId: id });
        const second = await queue.enqueue(name, { n: 2 }, { jobId: id });
        expect(first.id).toBe(id);
        expect(second.id).toBe(id);
        expect(second.data).toEqual({ n: 1 });
        expect((await queue.getJob(id))!.data).toEqual({ n: 1 });
      }
      expect((await queue.counts())[name].queued).toBe(3);
    });

    // What an Idempotency-Key retry relies on (feedback's enqueueOnce): the retry may come after the
    // first job has run, and must not queue it again.
    it('a caller-chosen id of a finished job is neither stored nor run again, by enqueue or enqueueBulk', async () => {
      const queue = await open();
      const name = uniqueName('idem-done');
      const runs: string[] = [];
      queue.process<{ n: number }, number>(name, async (job) => {
        runs.push(job.id);
        return job.data.n;
      });
      await queue.startWorkers();
      const id = `done-${randomBytes(3).toString('hex')}`;
      await queue.enqueue(name, { n: 1 }, { jobId: id });
      await queue.waitForFinish(id, 10_000);
      expect(await queue.enqueue(name, { n: 2 }, { jobId: id })).toMatchObject({ id, state: 'completed', data: { n: 1 }, result: 1 });
      expect(await queue.enqueueBulk([{ name, data: { n: 3 }, options: { jobId: id } }])).toEqual([id]);
      // a job queued after the repeats runs after them: once it is done, a repeat would have run
      const after = (await queue.enqueue(name, { n: 4 })).id;
      await queue.waitForFinish(after, 10_000);
      expect(runs).toEqual([id, after]);
      expect((await queue.counts())[name]).toMatchObject({ queued: 0, active: 0, completed: 2 });
      expect((await queue.getJob(id))!.data).toEqual({ n: 1 });
    });

    it('runs a job and records result, attempts, progress and timestamps in order', async () => {
      const queue = await open();
      const name = uniqueName('run');
      queue.process<{ a: number; b: number }, number>(name, async (job) => {
        expect(job.attempt).toBe(1);
        await job.reportProgress(100);
        return job.data.a + job.data.b;
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, { a: 2, b: 40 });
      const done = await queue.waitForFinish<unknown, number>(id, 10_000);
      expect(done).toMatchObject({ id, state: 'completed', result: 42, error: null, attempts: 1, progress: 100 });
      expect(done.startedAt).toBeGreaterThanOrEqual(done.createdAt);
      expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt!);
      expect(await queue.getJob(id)).toMatchObject({ state: 'completed', result: 42 });
    });

    it('retries a failing job with exponential backoff, then completes it', async () => {
      const queue = await open();
      const name = uniqueName('retry');
      const runs: { attempt: number; at: number }[] = [];
      queue.process(name, async (job) => {
        runs.push({ attempt: job.attempt, at: Date.now() });
        if (job.attempt < 3) throw new Error(`flaky ${job.attempt}`);
        return 'ok';
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null, { attempts: 3, backoffMs: 200 });
      const done = await queue.waitForFinish(id, 10_000);
      expect(done).toMatchObject({ state: 'completed', result: 'ok', attempts: 3, error: null });
      expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
      const firstWait = runs[1].at - runs[0].at;
      const secondWait = runs[2].at - runs[1].at;
      // 200 ms then 400 ms; loose upper bounds for a busy machine, but the doubling must show.
      expect(firstWait).toBeGreaterThanOrEqual(180);
      expect(secondWait).toBeGreaterThanOrEqual(360);
      expect(firstWait).toBeLessThan(2_500);
      expect(secondWait).toBeLessThan(3_000);
    });

    it('keeps a job that failed every attempt as failed, with its error (dead letter)', async () => {
      const queue = await open();
      const name = uniqueName('dead');
      queue.process(name, async (job) => {
        throw new Error(`boom ${job.attempt}`);
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, { x: 1 }, { attempts: 2, backoffMs: 50 });
      const failed = await queue.waitForFinish(id, 10_000);
      expect(failed).toMatchObject({ state: 'failed', error: 'boom 2', attempts: 2, result: null });
      expect(failed.finishedAt).not.toBeNull();
      const listed = await queue.listRecent({ name });
      expect(listed.map((job) => [job.id, job.state, job.error])).toEqual([[id, 'failed', 'boom 2']]);
      expect((await queue.counts())[name]).toMatchObject({ failed: 1, completed: 0, queued: 0, active: 0 });
      expect(await queue.getJob(id)).toMatchObject({ state: 'failed', error: 'boom 2' });
    });

    it('fails a job at once on a PermanentJobError, with its error, leaving its other attempts unused', async () => {
      const queue = await open();
      const name = uniqueName('permanent');
      let runs = 0;
      queue.process(name, async () => {
        runs++;
        throw new PermanentJobError('cannot be done');
      });
      const { id } = await queue.enqueue(name, null, { attempts: 3, backoffMs: 50 });
      const events: JobEvent[] = [];
      const unsubscribe = queue.subscribe(id, (event) => events.push(event));
      // the subscription is live before the job can run (as in the events case above)
      await sleep(300);
      await queue.startWorkers();
      const failed = await queue.waitForFinish(id, 10_000);
      expect(failed).toMatchObject({ state: 'failed', error: 'cannot be done', attempts: 1, result: null });
      expect(failed.finishedAt).not.toBeNull();
      await vi.waitUntil(async () => events.some((e) => e.type === 'failed'), { timeout: 5_000, interval: 25 });
      unsubscribe();
      expect(events.filter((e) => e.type === 'failed')).toEqual([{ type: 'failed', jobId: id, name, error: 'cannot be done', willRetry: false }]);
      // time for a retry that must not come
      await sleep(300);
      expect(runs).toBe(1);
      expect((await queue.counts())[name]).toMatchObject({ failed: 1, completed: 0, queued: 0, active: 0 });
      expect(await queue.getJob(id)).toMatchObject({ state: 'failed', error: 'cannot be done', attempts: 1 });
    });

    it('does not run a delayed job before its delay, and counts it delayed until then', async () => {
      const queue = await open();
      const name = uniqueName('delay');
      queue.process(name, async () => 'late');
      await queue.startWorkers();
      const { id, createdAt } = await queue.enqueue(name, null, { delayMs: 600 });
      await sleep(150);
      expect((await queue.getJob(id))!.state).toBe('delayed');
      expect((await queue.counts())[name]).toMatchObject({ delayed: 1, queued: 0 });
      const done = await queue.waitForFinish(id, 10_000);
      expect(done.state).toBe('completed');
      expect(done.startedAt! - createdAt).toBeGreaterThanOrEqual(550);
    });

    it('runs at most `concurrency` jobs of a name at once, and does reach it', async () => {
      const queue = await open();
      const name = uniqueName('conc');
      let running = 0;
      let maxRunning = 0;
      queue.process(
        name,
        async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(120);
          running--;
        },
        { concurrency: 3 },
      );
      const ids = await queue.enqueueBulk(Array.from({ length: 12 }, (_, i) => ({ name, data: i })));
      await queue.startWorkers();
      for (const id of ids) expect((await queue.waitForFinish(id, 15_000)).state).toBe('completed');
      expect(maxRunning).toBe(3);
    });

    it('reports progress and events to subscribers', async () => {
      const queue = await open();
      const name = uniqueName('events');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      queue.process(name, async (job) => {
        await gate;
        await job.reportProgress(50);
        await job.reportProgress({ step: 'second' });
        return { ok: true };
      });
      const { id } = await queue.enqueue(name, null);
      const events: JobEvent[] = [];
      const unsubscribe = queue.subscribe(id, (event) => events.push(event));
      await sleep(300);
      await queue.startWorkers();
      await vi.waitUntil(async () => (await queue.getJob(id))?.state === 'active', { timeout: 10_000, interval: 25 });
      await sleep(200);
      release();
      await queue.waitForFinish(id, 10_000);
      await vi.waitUntil(async () => events.some((e) => e.type === 'completed'), { timeout: 5_000, interval: 25 });
      unsubscribe();
      const progress = events.filter((e) => e.type === 'progress').map((e) => (e as { progress: unknown }).progress);
      expect(progress).toEqual([50, { step: 'second' }]);
      expect(events.find((e) => e.type === 'completed')).toMatchObject({ jobId: id, name, result: { ok: true } });
      expect(events.filter((e) => e.type === 'completed')).toHaveLength(1);
      expect(events.some((e) => e.type === 'active')).toBe(true);
    });

    it('waitForFinish: result, failure, timeout without blocking the event loop, unknown id', async () => {
      const queue = await open();
      const name = uniqueName('wait');
      queue.process<{ fail: boolean; ms: number }, string>(name, async (job) => {
        await sleep(job.data.ms);
        if (job.data.fail) throw new Error('nope');
        return 'yes';
      });
      await queue.startWorkers();
      const ok = await queue.enqueue(name, { fail: false, ms: 10 });
      const bad = await queue.enqueue(name, { fail: true, ms: 10 });
      expect(await queue.waitForFinish(ok.id, 10_000)).toMatchObject({ state: 'completed', result: 'yes' });
      expect(await queue.waitForFinish(bad.id, 10_000)).toMatchObject({ state: 'failed', error: 'nope' });

      const slow = await queue.enqueue(name, { fail: false, ms: 3_000 });
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 20);
      const started = Date.now();
      const error = await queue.waitForFinish(slow.id, 400).catch((e: unknown) => e);
      clearInterval(ticker);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(380);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(ticks).toBeGreaterThan(5);

      const missing = await queue.waitForFinish('no-such-job', 1_000).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(AppError);
      expect((missing as AppError).code).toBe('not_found');
    });

    // An active job is cancelled too since #18 (queue-two-control.conformance.ts).
    it('cancels a queued job (never run), refuses a finished one, knows no unknown one', async () => {
      const queue = await open();
      const name = uniqueName('cancel');
      const ran: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      queue.process(name, async (job) => {
        ran.push(job.id);
        await gate;
        return 'done';
      });
      const active = await queue.enqueue(name, 'active');
      await queue.startWorkers();
      await vi.waitUntil(async () => (await queue.getJob(active.id))?.state === 'active', { timeout: 10_000, interval: 25 });
      const queued = await queue.enqueue(name, 'queued');
      const waiting = queue.waitForFinish(queued.id, 10_000);
      expect(await queue.cancel(queued.id)).toBe('cancelled');
      expect(await queue.cancel(queued.id)).toBe('not_cancellable');
      expect(await queue.cancel('no-such-job')).toBe('not_found');
      const cancelled = await waiting;
      expect(cancelled).toMatchObject({ id: queued.id, state: 'cancelled', data: 'queued' });
      expect(cancelled.finishedAt).not.toBeNull();
      release();
      expect((await queue.waitForFinish(active.id, 10_000)).state).toBe('completed');
      expect(await queue.cancel(active.id)).toBe('not_cancellable');
      await sleep(200);
      expect(ran).toEqual([active.id]);
      expect(await queue.getJob(queued.id)).toMatchObject({ state: 'cancelled' });
      expect((await queue.counts())[name]).toMatchObject({ cancelled: 1, completed: 1 });
      expect((await queue.listRecent({ name })).map((job) => [job.id, job.state])).toEqual([
        [queued.id, 'cancelled'],
        [active.id, 'completed'],
      ]);
    });

    it('counts jobs by state and lists the most recent first', async () => {
      const queue = await open();
      const name = uniqueName('list');
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push((await queue.enqueue(name, i)).id);
        await sleep(5);
      }
      await queue.enqueue(name, 'later', { delayMs: 60_000 });
      const counts = await queue.counts();
      expect(counts[name]).toEqual({ queued: 4, delayed: 1, active: 0, completed: 0, failed: 0, cancelled: 0 });
      const recent = await queue.listRecent({ name, limit: 3 });
      expect(recent).toHaveLength(3);
      expect(recent.slice(1).map((job) => job.id)).toEqual([ids[3], ids[2]]);
      expect(recent[0].data).toBe('later');
      expect((await queue.listRecent({ limit: 500 })).some((job: JobRecord) => job.id === ids[0])).toBe(true);
    });

    it('enqueueBulk stores many jobs of several names, in order, idempotent on chosen ids', async () => {
      const queue = await open();
      const [a, b] = [uniqueName('bulk-a'), uniqueName('bulk-b')];
      const jobs = Array.from({ length: 300 }, (_, i) => ({ name: i % 2 ? a : b, data: { i }, options: i < 10 ? { jobId: `${a}-chosen-${i}` } : undefined }));
      const ids = await queue.enqueueBulk(jobs);
      expect(ids).toHaveLength(300);
      expect(ids.slice(0, 10)).toEqual(jobs.slice(0, 10).map((job) => job.options!.jobId));
      expect(new Set(ids).size).toBe(300);
      const again = await queue.enqueueBulk(jobs.slice(0, 10).map((job) => ({ ...job, data: { i: -1 } })));
      expect(again).toEqual(ids.slice(0, 10));
      expect(await queue.enqueueBulk([])).toEqual([]);
      const counts = await queue.counts();
      expect(counts[a].queued + counts[b].queued).toBe(300);
      queue.process<{ i: number }, number>(a, async (job) => job.data.i * 2, { concurrency: 10 });
      queue.process<{ i: number }, number>(b, async (job) => job.data.i * 2, { concurrency: 10 });
      await queue.startWorkers();
      const results = await Promise.all(ids.map((id) => queue.waitForFinish<{ i: number }, number>(id, 20_000)));
      results.forEach((job, i) => expect([job.id, job.name, job.data.i, job.result]).toEqual([ids[i], jobs[i].name, i, i * 2]));
    });

    it('answers 10,000 concurrent waiters, without a listener per waiter', async () => {
      const queue = await open();
      const name = uniqueName('waiters');
      const ids: string[] = [];
      for (let i = 0; i < 10_000; i += 1_000) ids.push(...(await queue.enqueueBulk(Array.from({ length: 1_000 }, (_, k) => ({ name, data: i + k })))));
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.name);
      process.on('warning', onWarning);
      try {
        const waits = ids.map((id) => queue.waitForFinish<number, number>(id, 90_000));
        queue.process<number, number>(name, async (job) => job.data, { concurrency: 200 });
        await queue.startWorkers();
        const records = await Promise.all(waits);
        expect(records.filter((record, i) => record.state === 'completed' && record.result === i)).toHaveLength(10_000);
        expect(warnings).not.toContain('MaxListenersExceededWarning');
      } finally {
        process.off('warning', onWarning);
      }
    }, 120_000);

    it('close() lets active jobs finish within the grace period', async () => {
      const queue = await open();
      const name = uniqueName('grace');
      let finished = false;
      queue.process(name, async () => {
        await sleep(400);
        finished = true;
        return 'finished';
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null);
      await vi.waitUntil(async () => (await queue.getJob(id))?.state === 'active', { timeout: 10_000, interval: 25 });
      await queue.close(5_000);
      expect(finished).toBe(true);
      const reader = await open();
      expect(await reader.getJob(id)).toMatchObject({ state: 'completed', result: 'finished' });
    });

    it('close() aborts a job that outlasts the grace period, and the job is not lost', async () => {
      const queue = await open({ leaseMs: 1_000 });
      const name = uniqueName('abort');
      let aborted = false;
      let firstRun = true;
      queue.process(name, async (job) => {
        // Only the first run waits: a rerun here (its lease lapsed on a slow machine) must not
        // stand in for it, whatever its attempt number.
        if (!firstRun) return 'second run';
        firstRun = false;
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
        // A handler that stops when asked but never returns normally keeps the job unfinished.
        await sleep(60_000);
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null);
      await vi.waitUntil(async () => (await queue.getJob(id))?.state === 'active', { timeout: 10_000, interval: 25 });
      const started = Date.now();
      await queue.close(200);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(aborted).toBe(true);
      const next = await open({ leaseMs: 1_000 });
      next.process(name, async (job) => (job.attempt > 1 ? 'second run' : 'first run'));
      await next.startWorkers();
      expect(await next.waitForFinish(id, 15_000)).toMatchObject({ state: 'completed', result: 'second run' });
    });

    it('jobs queued before a restart run after it', async () => {
      const before = await open();
      const name = uniqueName('restart');
      const ids = await before.enqueueBulk(Array.from({ length: 5 }, (_, i) => ({ name, data: i })));
      await before.close(500);
      const after = await open();
      after.process<number, number>(name, async (job) => job.data + 100);
      await after.startWorkers();
      for (const [i, id] of ids.entries()) expect(await after.waitForFinish(id, 10_000)).toMatchObject({ state: 'completed', result: i + 100 });
    });

    it('a worker that dies mid-job (lease lapses) leaves its job to another worker', async () => {
      // In-process variant of the kill test: a handler that never returns nor renews stands for a
      // dead worker once its queue instance is dropped without closing; test/queue-kill.test.ts kills a real process.
      const name = uniqueName('stall');
      const first = await harness().open({ leaseMs: 800 });
      first.process(name, () => new Promise(() => {}));
      await first.startWorkers();
      const { id } = await first.enqueue(name, null);
      await vi.waitUntil(async () => (await first.getJob(id))?.state === 'active', { timeout: 10_000, interval: 25 });
      // Let the first worker's lease lapse by closing it with no grace: it keeps the job's lease unrenewed.
      await first.close(0);
      const second = await open({ leaseMs: 800 });
      second.process(name, async (job) => `recovered on attempt ${job.attempt}`);
      await second.startWorkers();
      expect(await second.waitForFinish(id, 15_000)).toMatchObject({ state: 'completed', result: 'recovered on attempt 2', attempts: 2 });
    });
  });
}
