// Conformance cases of queue II's control (issue #18) every driver passes: cancelling running jobs
// (in this process and from another one on the same backend), pausing and resuming a job name
// (across workers and restarts) and the overview of GET /queues.
import { describe, expect, it, vi } from 'vitest';
import { type JobEvent, JobCancelledError, type JobQueue, OVERVIEW_WINDOW_MS } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const poll = { timeout: 10_000, interval: 20 };

/** A handler that runs until the test lets it go; `heed`: it also ends when its signal aborts. */
function heldRuns({ heed }: { heed: boolean }) {
  const started: string[] = [];
  const reasons = new Map<string, unknown>();
  const releases = new Map<string, () => void>();
  const handler = async (job: { id: string; signal: AbortSignal }) => {
    started.push(job.id);
    job.signal.addEventListener('abort', () => reasons.set(job.id, job.signal.reason), { once: true });
    await new Promise<void>((resolve, reject) => {
      releases.set(job.id, resolve);
      if (heed) job.signal.addEventListener('abort', () => reject(job.signal.reason as Error), { once: true });
    });
    return `finished ${job.id}`;
  };
  return { started, reasons, release: (id: string) => releases.get(id)?.(), handler };
}

async function activeOn(queue: JobQueue, id: string): Promise<void> {
  await vi.waitUntil(async () => (await queue.getJob(id))?.state === 'active', poll);
}

export function describeControlConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance, cancel running jobs, pause, overview: ${label}`, () => {
    const { open, uniqueName } = useQueueInstances(setup);

    describe('cancelling a running job', () => {
      it('aborts the signal of a handler that heeds it: the job ends cancelled within a second, not retried with attempts left', async () => {
        const queue = await open();
        const name = uniqueName('cancel-heeds');
        const runs = heldRuns({ heed: true });
        queue.process(name, runs.handler);
        await queue.startWorkers();
        const job = await queue.enqueue(name, null, { attempts: 3, backoffMs: 10 });
        await activeOn(queue, job.id);
        const events: JobEvent[] = [];
        queue.subscribe(job.id, (event) => events.push(event));
        const finished = queue.waitForFinish(job.id, 10_000);
        const cancelledAt = Date.now();
        expect(await queue.cancel(job.id)).toBe('cancelling');
        expect((await queue.getJob(job.id))!.state).toBe('cancelled');
        await vi.waitUntil(() => runs.reasons.has(job.id), poll);
        expect(Date.now() - cancelledAt).toBeLessThan(1_000);
        expect(runs.reasons.get(job.id)).toBeInstanceOf(JobCancelledError);
        const record = await finished;
        expect(record).toMatchObject({ id: job.id, state: 'cancelled', result: null, attempts: 1 });
        expect(record.finishedAt).not.toBeNull();
        await vi.waitUntil(() => events.some((event) => event.type === 'cancelled'), poll);
        // two attempts were left: none is used
        await sleep(400);
        expect(runs.started).toEqual([job.id]);
        expect(await queue.getJob(job.id)).toMatchObject({ state: 'cancelled', attempts: 1 });
        expect(await queue.cancel(job.id)).toBe('not_cancellable');
        expect((await queue.counts())[name]).toMatchObject({ cancelled: 1, active: 0, queued: 0, delayed: 0 });
      });

      it('records cancelled a handler that ignores its signal, frees its slot at once and drops its late result', async () => {
        const queue = await open();
        const name = uniqueName('cancel-ignores');
        const runs = heldRuns({ heed: false });
        queue.process(name, runs.handler, { concurrency: 1 });
        await queue.startWorkers();
        const stubborn = await queue.enqueue(name, null, { attempts: 2 });
        await activeOn(queue, stubborn.id);
        const next = await queue.enqueue(name, null);
        expect(await queue.cancel(stubborn.id)).toBe('cancelling');
        expect(await queue.getJob(stubborn.id)).toMatchObject({ state: 'cancelled', result: null });
        // the handler still runs, but its slot went with the cancel: the next job starts
        await vi.waitUntil(() => runs.started.includes(next.id), poll);
        runs.release(next.id);
        expect((await queue.waitForFinish(next.id, 10_000)).state).toBe('completed');
        runs.release(stubborn.id);
        await sleep(300);
        expect(await queue.getJob(stubborn.id)).toMatchObject({ state: 'cancelled', result: null, error: null });
        expect(runs.started.filter((id) => id === stubborn.id)).toHaveLength(1);
      });

      it('frees the group slot of a cancelled run: the next job of its group starts', async () => {
        const queue = await open();
        const name = uniqueName('cancel-group');
        const runs = heldRuns({ heed: false });
        queue.process(name, runs.handler, { concurrency: 4, groupConcurrency: 1 });
        await queue.startWorkers();
        const first = await queue.enqueue(name, null, { group: 'g' });
        await activeOn(queue, first.id);
        const second = await queue.enqueue(name, null, { group: 'g' });
        await sleep(300);
        expect(runs.started).toEqual([first.id]);
        expect(await queue.cancel(first.id)).toBe('cancelling');
        await vi.waitUntil(() => runs.started.includes(second.id), poll);
        runs.release(second.id);
        runs.release(first.id);
        expect((await queue.waitForFinish(second.id, 10_000)).state).toBe('completed');
      });

      it('stops a run in another process: one instance runs the worker, another cancels', async () => {
        const worker = await open();
        const api = await open();
        const name = uniqueName('cancel-remote');
        const runs = heldRuns({ heed: true });
        worker.process(name, runs.handler);
        await worker.startWorkers();
        const job = await api.enqueue(name, null, { attempts: 3 });
        await activeOn(api, job.id);
        const finished = api.waitForFinish(job.id, 10_000);
        const finishedThere = worker.waitForFinish(job.id, 10_000);
        const cancelledAt = Date.now();
        expect(await api.cancel(job.id)).toBe('cancelling');
        expect((await worker.getJob(job.id))!.state).toBe('cancelled');
        await vi.waitUntil(() => runs.reasons.has(job.id), poll);
        // SQLite has no signal between processes: the worker sees the cancel at its next poll
        expect(Date.now() - cancelledAt).toBeLessThan(1_500);
        expect(runs.reasons.get(job.id)).toBeInstanceOf(JobCancelledError);
        expect((await finished).state).toBe('cancelled');
        expect((await finishedThere).state).toBe('cancelled');
        // the worker is free for the next job, and the cancelled one never runs again
        const next = await api.enqueue(name, null);
        await vi.waitUntil(() => runs.started.includes(next.id), poll);
        runs.release(next.id);
        expect((await api.waitForFinish(next.id, 10_000)).state).toBe('completed');
        expect(runs.started).toEqual([job.id, next.id]);
      });

      it('a cancelled job whose worker died is not run again by stall recovery', async () => {
        const dying = await open({ leaseMs: 600 });
        const name = uniqueName('cancel-dead-worker');
        dying.process(name, () => new Promise(() => {}));
        await dying.startWorkers();
        const job = await dying.enqueue(name, null, { attempts: 3 });
        await activeOn(dying, job.id);
        // the worker stops renewing: closed with no grace, its handler left hanging
        await dying.close(0);
        const api = await open({ leaseMs: 600 });
        expect(await api.cancel(job.id)).toBe('cancelling');
        const runs: string[] = [];
        const rescuer = await open({ leaseMs: 600 });
        rescuer.process(name, async (j) => void runs.push(j.id));
        await rescuer.startWorkers();
        await sleep(2_000);
        expect(runs).toEqual([]);
        expect(await api.getJob(job.id)).toMatchObject({ state: 'cancelled' });
      });

      it('cancels queued and delayed jobs as before, refuses finished ones', async () => {
        const queue = await open();
        const name = uniqueName('cancel-waiting');
        queue.process(name, async () => 'done');
        const delayed = await queue.enqueue(name, null, { delayMs: 60_000 });
        const queued = await queue.enqueue(name, null);
        expect(await queue.cancel(delayed.id)).toBe('cancelled');
        expect(await queue.cancel(queued.id)).toBe('cancelled');
        const done = await queue.enqueue(name, null);
        await queue.startWorkers();
        expect((await queue.waitForFinish(done.id, 10_000)).state).toBe('completed');
        expect(await queue.cancel(done.id)).toBe('not_cancellable');
        expect(await queue.cancel('no-such-job')).toBe('not_found');
      });
    });

    describe('pause and resume', () => {
      it('starts nothing on any worker while paused, takes enqueues, lets active runs finish, and resumes at once', async () => {
        const a = await open();
        const b = await open();
        const name = uniqueName('pause');
        const runs = heldRuns({ heed: false });
        for (const queue of [a, b]) {
          queue.process(name, runs.handler, { concurrency: 4 });
          await queue.startWorkers();
        }
        const running = await a.enqueue(name, null);
        await activeOn(a, running.id);
        await b.pause(name);
        const ids = await a.enqueueBulk(Array.from({ length: 6 }, (_, i) => ({ name, data: i })));
        ids.push((await b.enqueue(name, 'one more')).id);
        await sleep(1_000);
        expect(runs.started).toEqual([running.id]);
        expect((await a.overview()).find((o) => o.name === name)).toMatchObject({ paused: true, counts: { queued: 7, active: 1 } });
        runs.release(running.id);
        expect((await a.waitForFinish(running.id, 10_000)).state).toBe('completed');
        await sleep(300);
        expect(runs.started).toEqual([running.id]);
        const resumedAt = Date.now();
        await a.resume(name);
        await vi.waitUntil(() => runs.started.length === 8, poll);
        expect(Date.now() - resumedAt).toBeLessThan(2_000);
        for (const id of ids) runs.release(id);
        for (const id of ids) expect((await b.waitForFinish(id, 10_000)).state).toBe('completed');
        expect((await b.overview()).find((o) => o.name === name)).toMatchObject({ paused: false, counts: { completed: 8 } });
      });

      it('a pause survives a restart of every queue instance', async () => {
        const first = await open();
        const name = uniqueName('pause-restart');
        await first.pause(name);
        const job = await first.enqueue(name, null);
        await first.close(500);
        const ran: string[] = [];
        const second = await open();
        second.process(name, async (j) => void ran.push(j.id));
        await second.startWorkers();
        await sleep(800);
        expect(ran).toEqual([]);
        expect((await second.overview()).find((o) => o.name === name)).toMatchObject({ paused: true, counts: { queued: 1 } });
        await second.resume(name);
        expect((await second.waitForFinish(job.id, 10_000)).state).toBe('completed');
      });

      it('holds back the parked jobs of groups too', async () => {
        const queue = await open();
        const name = uniqueName('pause-groups');
        const runs = heldRuns({ heed: false });
        queue.process(name, runs.handler, { concurrency: 4, groupConcurrency: 1 });
        await queue.startWorkers();
        const first = await queue.enqueue(name, null, { group: 'g' });
        await activeOn(queue, first.id);
        const parked = await queue.enqueue(name, null, { group: 'g' });
        await sleep(300);
        await queue.pause(name);
        // the slot frees while paused: the job waiting for it must not start
        runs.release(first.id);
        expect((await queue.waitForFinish(first.id, 10_000)).state).toBe('completed');
        await sleep(800);
        expect(runs.started).toEqual([first.id]);
        await queue.resume(name);
        await vi.waitUntil(() => runs.started.includes(parked.id), poll);
        runs.release(parked.id);
        expect((await queue.waitForFinish(parked.id, 10_000)).state).toBe('completed');
      });

      it('refuses an invalid job name', async () => {
        const queue = await open();
        await expect(queue.pause('a:b')).rejects.toBeInstanceOf(RangeError);
        await expect(queue.resume('')).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('overview', () => {
      it('gives counts, paused, the oldest wait, wait percentiles and completions per minute of a known set of jobs', async () => {
        const queue = await open();
        const name = uniqueName('overview');
        const idle = uniqueName('overview-idle');
        const before = await queue.overview();
        expect(before.find((o) => o.name === name)).toBeUndefined();
        // 10 jobs enqueued 100 ms apart, then 300 ms more before a worker starts: waits of about
        // 300, 400, … 1,200 ms
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) {
          if (i > 0) await sleep(100);
          ids.push((await queue.enqueue(name, i)).id);
        }
        const waiting = (await queue.overview()).find((o) => o.name === name)!;
        expect(waiting.counts).toMatchObject({ queued: 10, completed: 0 });
        expect(waiting.oldestWaitingMs).toBeGreaterThanOrEqual(900 - 20);
        expect(waiting.waitMs).toBeNull();
        expect(waiting.completionsPerMinute).toBe(0);
        await sleep(300);
        const older = (await queue.overview()).find((o) => o.name === name)!;
        expect(older.oldestWaitingMs!).toBeGreaterThanOrEqual(1_200 - 20);
        queue.process(name, async () => 'done', { concurrency: 10 });
        await queue.startWorkers();
        for (const id of ids) await queue.waitForFinish(id, 10_000);
        await queue.pause(idle);
        // BullMQ's workers write waits in batches
        await sleep(300);
        const overview = await queue.overview();
        const names = overview.map((o) => o.name);
        expect(names).toEqual([...names].sort());
        const done = overview.find((o) => o.name === name)!;
        expect(done).toMatchObject({ name, paused: false, oldestWaitingMs: null, counts: { queued: 0, active: 0, completed: 10 } });
        expect(done.completionsPerMinute).toBeCloseTo(10 / (OVERVIEW_WINDOW_MS / 60_000), 5);
        // waits of the enqueue time plus 300 ms or more, spread by 100 ms per job: p50 the 5th, p95 the 10th
        expect(done.waitMs!.p50).toBeGreaterThanOrEqual(300 + 400 - 20);
        expect(done.waitMs!.p95).toBeGreaterThanOrEqual(300 + 900 - 20);
        expect(done.waitMs!.p95).toBeGreaterThan(done.waitMs!.p50);
        expect(done.waitMs!.p95 - done.waitMs!.p50).toBeGreaterThanOrEqual(400);
        expect(overview.find((o) => o.name === idle)).toMatchObject({ paused: true, oldestWaitingMs: null, waitMs: null, completionsPerMinute: 0 });
      });
    });
  });
}
