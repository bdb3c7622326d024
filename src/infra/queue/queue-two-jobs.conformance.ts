// Conformance cases of queue II (issue #18) about jobs an operator looks at: listing with filters
// and a stable cursor, dead jobs with their history and stack, and retrying them. Every driver
// passes them (SQL on SQLite, SQL on PostgreSQL, BullMQ).
import { describe, expect, it, vi } from 'vitest';
import { type JobQueue, type JobRecord, MAX_STACK_CHARS } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const poll = { timeout: 15_000, interval: 20 };

type Kind = { kind: 'ok' | 'fail' | 'hold' };

/** Every page of a listing, following the cursors. */
async function allPages(queue: JobQueue, filter: Parameters<JobQueue['listJobs']>[0]): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await queue.listJobs({ ...filter, cursor });
    jobs.push(...result.jobs);
    if (result.nextCursor === null) return jobs;
    cursor = result.nextCursor;
  }
  throw new Error('more than 100 pages');
}

const ids = (jobs: JobRecord[]) => jobs.map((job) => job.id).sort();

export function describeJobsConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance, listing and dead jobs: ${label}`, () => {
    const { open, uniqueName } = useQueueInstances(setup);

    it('lists jobs in each of the six states, filtered by name, state, group and creation time, each as getJob shows it', async () => {
      const queue = await open();
      const worked = uniqueName('list-worked');
      const idle = uniqueName('list-idle');
      const group = uniqueName('group');
      const release: (() => void)[] = [];
      queue.process<Kind, string>(worked, async (job) => {
        if (job.data.kind === 'fail') throw new Error('meant to fail');
        if (job.data.kind === 'hold') await new Promise<void>((resolve) => release.push(resolve));
        return 'done';
      }, { concurrency: 4 });
      await queue.startWorkers();

      const ok1 = await queue.enqueue<Kind>(worked, { kind: 'ok' }, { group });
      const failed = await queue.enqueue<Kind>(worked, { kind: 'fail' });
      const queued1 = await queue.enqueue(idle, null, { group });
      const cancelled = await queue.enqueue(idle, null, { delayMs: 60_000 });
      expect(await queue.cancel(cancelled.id)).toBe('cancelled');
      await sleep(5);
      const between = Date.now();
      await sleep(5);
      const ok2 = await queue.enqueue<Kind>(worked, { kind: 'ok' });
      const held = await queue.enqueue<Kind>(worked, { kind: 'hold' }, { group });
      const delayed = await queue.enqueue(idle, null, { delayMs: 60_000, group });
      const queued2 = await queue.enqueue(idle, null);
      await Promise.all([ok1, ok2, failed].map((job) => queue.waitForFinish(job.id, 15_000)));
      await vi.waitUntil(() => release.length === 1, poll);

      const list = async (filter: Parameters<JobQueue['listJobs']>[0]) => ids(await allPages(queue, filter));
      expect(await list({ name: worked })).toEqual(ids([ok1, ok2, failed, held]));
      expect(await list({ name: worked, state: 'completed' })).toEqual(ids([ok1, ok2]));
      expect(await list({ name: worked, state: 'failed' })).toEqual(ids([failed]));
      expect(await list({ name: worked, state: 'active' })).toEqual(ids([held]));
      expect(await list({ name: idle, state: 'queued' })).toEqual(ids([queued1, queued2]));
      expect(await list({ name: idle, state: 'delayed' })).toEqual(ids([delayed]));
      expect(await list({ name: idle, state: 'cancelled' })).toEqual(ids([cancelled]));
      expect(await list({ group })).toEqual(ids([ok1, queued1, held, delayed]));
      expect(await list({ name: idle, createdAfter: between })).toEqual(ids([delayed, queued2]));
      expect(await list({ name: idle, createdBefore: between })).toEqual(ids([queued1, cancelled]));
      expect(await list({ name: worked, group, createdAfter: between, state: 'active' })).toEqual(ids([held]));
      expect(await list({ name: worked, group, createdBefore: between, state: 'active' })).toEqual([]);
      // without a name: the jobs of every name, these among them
      const everything = await list({ createdAfter: between });
      expect(everything).toEqual(expect.arrayContaining(ids([ok2, held, delayed, queued2])));
      expect(everything).not.toContain(ok1.id);

      // newest first, each item as getJob shows it
      const page = await queue.listJobs({ name: idle });
      expect(page.nextCursor).toBeNull();
      expect(ids(page.jobs)).toEqual(ids([queued1, cancelled, delayed, queued2]));
      for (let i = 1; i < page.jobs.length; i++) expect(page.jobs[i].createdAt).toBeLessThanOrEqual(page.jobs[i - 1].createdAt);
      expect(page.jobs.at(-1)!.createdAt).toBeLessThan(page.jobs[0].createdAt);
      for (const job of page.jobs) expect(job).toEqual(await queue.getJob(job.id));
      const finished = await queue.listJobs({ name: worked, state: 'failed' });
      expect(finished.jobs[0]).toEqual(await queue.getJob(failed.id));
      release.forEach((resolve) => resolve());
      await queue.waitForFinish(held.id, 15_000);
    });

    it('refuses a bad filter with a RangeError naming the field', async () => {
      const queue = await open();
      await expect(queue.listJobs({ state: 'stuck' as never })).rejects.toThrow(/state/);
      await expect(queue.listJobs({ limit: 0 })).rejects.toThrow(/limit/);
      await expect(queue.listJobs({ limit: 501 })).rejects.toThrow(/limit/);
      await expect(queue.listJobs({ cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
      await expect(queue.listJobs({ createdAfter: Number.NaN })).rejects.toThrow(/createdAfter/);
      await expect(queue.listJobs({ name: 'a:b' })).rejects.toThrow(/name/);
      for (const filter of [{ state: 'stuck' as never }, { limit: 0 }, { cursor: '!' }]) await expect(queue.listJobs(filter)).rejects.toBeInstanceOf(RangeError);
    });

    it('pages 3 × 25 jobs with a stable cursor: no duplicate, no gap, and jobs created between pages do not appear', async () => {
      const queue = await open();
      const name = uniqueName('pages');
      // a bulk: many jobs share one creation millisecond, so ties are ordered by id
      const first = await queue.enqueueBulk(Array.from({ length: 40 }, (_, i) => ({ name, data: { i } })));
      await sleep(3);
      const second = await queue.enqueueBulk(Array.from({ length: 35 }, (_, i) => ({ name, data: { i: 40 + i } })));
      const seen: JobRecord[] = [];
      const late: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 3; page++) {
        const result = await queue.listJobs({ name, limit: 25, cursor });
        expect(result.jobs).toHaveLength(25);
        seen.push(...result.jobs);
        cursor = result.nextCursor ?? undefined;
        if (page < 2) expect(cursor).toBeDefined();
        else expect(result.nextCursor).toBeNull();
        late.push((await queue.enqueue(name, { late: page })).id);
      }
      expect(new Set(seen.map((job) => job.id)).size).toBe(75);
      expect(ids(seen)).toEqual([...first, ...second].sort());
      for (const id of late) expect(seen.map((job) => job.id)).not.toContain(id);
      for (let i = 1; i < seen.length; i++) expect(seen[i].createdAt).toBeLessThanOrEqual(seen[i - 1].createdAt);
      // the first page again: the late jobs come first now
      const again = await queue.listJobs({ name, limit: 3 });
      expect(ids(again.jobs)).toEqual([...late].sort());
    });

    it('a job that fails all its attempts is dead, with its error, its stack and each run, kept across a restart', async () => {
      const queue = await open();
      const name = uniqueName('dead');
      queue.process(name, async (job) => {
        throw new Error(`boom ${job.attempt}`);
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null, { attempts: 3, backoffMs: 10 });
      const dead = await queue.waitForFinish(id, 15_000);
      expect(dead).toMatchObject({ state: 'failed', dead: true, error: 'boom 3', attempts: 3 });
      expect(dead.stack).toContain('boom 3');
      expect(dead.stack!.length).toBeLessThanOrEqual(MAX_STACK_CHARS);
      expect(dead.history.map(({ attempt, error }) => ({ attempt, error }))).toEqual([
        { attempt: 1, error: 'boom 1' },
        { attempt: 2, error: 'boom 2' },
        { attempt: 3, error: 'boom 3' },
      ]);
      for (const [i, run] of dead.history.entries()) {
        expect(run.finishedAt).not.toBeNull();
        expect(run.finishedAt!).toBeGreaterThanOrEqual(run.startedAt);
        if (i > 0) expect(run.startedAt).toBeGreaterThanOrEqual(dead.history[i - 1].finishedAt!);
      }
      // another process (or this one restarted) reads the same from the backend
      await queue.close(500);
      const restarted = await open();
      expect(await restarted.getJob(id)).toEqual(dead);
    });

    it('a running attempt is in the history with no end; a job not failed is not dead', async () => {
      const queue = await open();
      const name = uniqueName('running');
      let release = () => {};
      queue.process(name, () => new Promise((resolve) => (release = () => resolve('ok'))));
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null);
      await vi.waitUntil(async () => (await queue.getJob(id))?.state === 'active', poll);
      const running = (await queue.getJob(id))!;
      expect(running).toMatchObject({ dead: false, stack: null, error: null });
      expect(running.history).toEqual([{ attempt: 1, startedAt: running.startedAt, finishedAt: null, error: null }]);
      release();
      const done = await queue.waitForFinish(id, 15_000);
      expect(done).toMatchObject({ dead: false, stack: null });
      expect(done.history).toEqual([{ attempt: 1, startedAt: done.startedAt, finishedAt: done.finishedAt, error: null }]);
    });

    it('a run whose worker died is in the history as stalled (SQL), and the run that recovered it after', async () => {
      const name = uniqueName('stalled-run');
      const first = await open({ leaseMs: 800 });
      first.process(name, () => new Promise(() => {}));
      await first.startWorkers();
      const { id } = await first.enqueue(name, null);
      await vi.waitUntil(async () => (await first.getJob(id))?.state === 'active', poll);
      await first.close(0);
      const second = await open({ leaseMs: 800 });
      second.process(name, async () => 'recovered');
      await second.startWorkers();
      const done = await second.waitForFinish(id, 15_000);
      expect(done).toMatchObject({ state: 'completed', attempts: 2, dead: false });
      expect(done.history.at(-1)).toEqual({ attempt: 2, startedAt: done.startedAt, finishedAt: done.finishedAt, error: null });
      // BullMQ moves a stalled job back inside its own script and may start it again at once, before
      // any listener could read the stalled run's start: there it is left out (attempt numbers skip it).
      if (second.driver === 'sql') expect(done.history[0]).toMatchObject({ attempt: 1, error: 'stalled' });
      else expect(done.history).toHaveLength(1);
    });

    it('retry queues a dead job again (same id, fresh attempts, history kept) and another process runs it', async () => {
      const worker = await open();
      const operator = await open();
      const name = uniqueName('retry');
      let failing = true;
      worker.process(name, async (job) => {
        if (failing) throw new Error(`run ${job.attempt} fails`);
        return `run ${job.attempt} works`;
      });
      await worker.startWorkers();
      const { id } = await worker.enqueue(name, null, { attempts: 2, backoffMs: 10 });
      expect(await worker.waitForFinish(id, 15_000)).toMatchObject({ state: 'failed', dead: true, attempts: 2 });
      failing = false;
      expect(await operator.retry(id)).toBe('retried');
      const again = (await operator.getJob(id))!;
      expect(again.state).not.toBe('failed');
      expect(again).toMatchObject({ id, dead: false, error: null, stack: null, maxAttempts: 2 });
      const done = await operator.waitForFinish(id, 15_000);
      expect(done).toMatchObject({ state: 'completed', result: 'run 3 works', attempts: 3, dead: false, error: null });
      expect(done.history.map(({ attempt, error }) => ({ attempt, error }))).toEqual([
        { attempt: 1, error: 'run 1 fails' },
        { attempt: 2, error: 'run 2 fails' },
        { attempt: 3, error: null },
      ]);
      // fresh attempts: failing again, it runs maxAttempts (2) more times before it is dead
      failing = true;
      expect(await operator.retry(id)).toBe('not_failed');
    });

    it('a retried job gets maxAttempts runs more, then is dead again with its whole history', async () => {
      const queue = await open();
      const name = uniqueName('retry-again');
      queue.process(name, async (job) => {
        throw new Error(`run ${job.attempt} fails`);
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null, { attempts: 2, backoffMs: 10 });
      await queue.waitForFinish(id, 15_000);
      expect(await queue.retry(id)).toBe('retried');
      const dead = await queue.waitForFinish(id, 15_000);
      expect(dead).toMatchObject({ state: 'failed', dead: true, attempts: 4, error: 'run 4 fails' });
      expect(dead.history.map((run) => run.attempt)).toEqual([1, 2, 3, 4]);
    });

    it('a retried keyed job holds its key again if no other job took it meanwhile, else it runs without it', async () => {
      const queue = await open();
      const name = uniqueName('retry-keyed');
      let failing = true;
      const release: (() => void)[] = [];
      queue.process<{ fail: boolean }, string>(name, async (job) => {
        if (failing && job.data.fail) throw new Error('fails');
        await new Promise<void>((resolve) => release.push(resolve));
        return 'held';
      }, { concurrency: 4 });
      await queue.startWorkers();

      // The key is kept for its failed job (no TTL): the retried job holds it while it runs.
      const kept = await queue.enqueue(name, { fail: true }, { key: 'kept' });
      await queue.waitForFinish(kept.id, 15_000);
      expect((await queue.enqueue(name, { fail: false }, { key: 'kept' })).id).toBe(kept.id);
      // A TTL of 0 frees the key when its job failed: another job takes it, and keeps it after the retry.
      const freed = await queue.enqueue(name, { fail: true }, { key: 'freed', keyTtlMs: 0 });
      await queue.waitForFinish(freed.id, 15_000);
      let taker: JobRecord | undefined;
      await vi.waitUntil(async () => (taker = await queue.enqueue(name, { fail: false }, { key: 'freed' })).id !== freed.id, poll);
      failing = false;
      expect(await queue.retry(kept.id)).toBe('retried');
      expect(await queue.retry(freed.id)).toBe('retried');
      await vi.waitUntil(() => release.length === 3, poll);
      expect((await queue.getJob(kept.id))!.state).toBe('active');
      expect((await queue.enqueue(name, { fail: false }, { key: 'kept' })).id).toBe(kept.id);
      expect((await queue.enqueue(name, { fail: false }, { key: 'freed' })).id).toBe(taker!.id);
      release.forEach((resolve) => resolve());
      for (const job of [kept, freed, taker!]) expect((await queue.waitForFinish(job.id, 15_000)).state).toBe('completed');
    });

    it('retry of a job that did not fail is not_failed; of an unknown one not_found', async () => {
      const queue = await open();
      const name = uniqueName('not-failed');
      queue.process(name, async () => 'fine');
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null);
      await queue.waitForFinish(id, 15_000);
      expect(await queue.retry(id)).toBe('not_failed');
      expect((await queue.getJob(id))!.state).toBe('completed');
      const waiting = await queue.enqueue(uniqueName('idle'), null, { delayMs: 60_000 });
      expect(await queue.retry(waiting.id)).toBe('not_failed');
      expect(await queue.retry('no-such-job')).toBe('not_found');
    });

    it('retryFailed retries the failed jobs of a name (since failedAfter), each once when two callers race', async () => {
      const queue = await open();
      const other = await open();
      const name = uniqueName('retry-many');
      let failing = true;
      const runs = new Map<string, number>();
      queue.process(name, async (job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        if (failing) throw new Error('fails for now');
        return 'works';
      }, { concurrency: 4 });
      await queue.startWorkers();
      const early = await Promise.all([0, 1, 2].map(() => queue.enqueue(name, null)));
      for (const job of early) await queue.waitForFinish(job.id, 15_000);
      await sleep(5);
      const failedAfter = Date.now();
      await sleep(5);
      const late = await Promise.all([0, 1].map(() => queue.enqueue(name, null)));
      for (const job of late) await queue.waitForFinish(job.id, 15_000);
      const otherName = await queue.enqueue(uniqueName('other-name'), null);
      failing = false;

      expect(await other.retryFailed({ name, failedAfter })).toBe(2);
      for (const job of late) expect((await queue.waitForFinish(job.id, 15_000)).state).toBe('completed');
      for (const job of early) expect((await queue.getJob(job.id))!.state).toBe('failed');

      const counts = await Promise.all([queue.retryFailed({ name }), other.retryFailed({ name })]);
      expect(counts[0] + counts[1]).toBe(3);
      for (const job of early) expect((await queue.waitForFinish(job.id, 15_000)).state).toBe('completed');
      for (const job of [...early, ...late]) expect(runs.get(job.id)).toBe(2);
      expect(await queue.retryFailed({ name })).toBe(0);
      expect((await queue.getJob(otherName.id))!.state).toBe('queued');
    });
  });
}
