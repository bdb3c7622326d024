// Conformance cases of per-group limits (issue #17, "Groups"), on every driver: groupConcurrency
// and groupRate hold across two queue instances on one backend (two worker processes), a busy
// group never holds up the others, ungrouped jobs are not limited, and a dead worker's slot
// comes back once its lease lapses.
import { describe, expect, it, vi } from 'vitest';
import type { JobQueue, WorkerOptions } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many handlers of each group run now, and the most seen at once (in this test process, which hosts both instances). */
class GroupWatch {
  readonly running = new Map<string, number>();
  readonly most = new Map<string, number>();
  mostOverall = 0;
  private overall = 0;

  async during(group: string, ms: number): Promise<void> {
    const now = (this.running.get(group) ?? 0) + 1;
    this.running.set(group, now);
    this.most.set(group, Math.max(this.most.get(group) ?? 0, now));
    this.mostOverall = Math.max(this.mostOverall, ++this.overall);
    try {
      await sleep(ms);
    } finally {
      this.running.set(group, this.running.get(group)! - 1);
      this.overall--;
    }
  }
}

type Job = { group: string; ms: number };

export function describeGroupConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance, per-group limits: ${label}`, () => {
    const { open, harness, uniqueName } = useQueueInstances(setup);

    /** Two queue instances on one backend, both working `name` with these options. */
    const twoWorkers = async (name: string, options: WorkerOptions, handler: (job: Job) => Promise<unknown>): Promise<JobQueue[]> => {
      const queues = [await open(), await open()];
      for (const queue of queues) queue.process<Job, unknown>(name, (job) => handler(job.data), options);
      return queues;
    };

    const enqueueGroups = (queue: JobQueue, name: string, jobs: Job[]) =>
      queue.enqueueBulk(jobs.map((data) => ({ name, data, options: data.group ? { group: data.group } : {} })));

    it('groupConcurrency holds across two worker processes, and is reached, for each group apart', async () => {
      const name = uniqueName('group-conc');
      const watch = new GroupWatch();
      const queues = await twoWorkers(name, { concurrency: 4, groupConcurrency: 2 }, (job) => watch.during(job.group, 120));
      const jobs = ['a', 'b', 'c'].flatMap((group) => Array.from({ length: 8 }, () => ({ group, ms: 120 })));
      const ids = await enqueueGroups(queues[0], name, jobs);
      await Promise.all(queues.map((queue) => queue.startWorkers()));
      for (const id of ids) expect((await queues[1].waitForFinish(id, 30_000)).state).toBe('completed');
      expect(Object.fromEntries(watch.most)).toEqual({ a: 2, b: 2, c: 2 });
      // the groups ran side by side: a limit per group, not one for all
      expect(watch.mostOverall).toBeGreaterThan(2);
    });

    it('groupRate holds across two worker processes, over any window, and is reached', async () => {
      const name = uniqueName('group-rate');
      const rate = { max: 3, windowMs: 1_000 };
      let started = 0;
      const queues = await twoWorkers(name, { concurrency: 4, groupRate: rate }, async () => void started++);
      const jobs = [...Array.from({ length: 9 }, () => ({ group: 'busy', ms: 0 })), ...Array.from({ length: 3 }, () => ({ group: 'other', ms: 0 }))];
      const ids = await enqueueGroups(queues[0], name, jobs);
      await Promise.all(queues.map((queue) => queue.startWorkers()));
      // the first window: three of each group ran, the other six of the busy group wait, queued
      await vi.waitUntil(() => started >= 6, { timeout: 10_000, interval: 10 });
      expect((await queues[0].counts())[name].queued).toBeGreaterThanOrEqual(3);
      const records = await Promise.all(ids.map((id) => queues[0].waitForFinish(id, 30_000)));
      expect(records.every((record) => record.state === 'completed')).toBe(true);
      // Start times as the backend recorded them (the gate's clock): no max + 1 of one group
      // within one window, however the window is placed.
      const startsOf = (group: string) =>
        records
          .filter((record) => record.group === group)
          .map((record) => record.startedAt!)
          .sort((x, y) => x - y);
      const busy = startsOf('busy');
      expect(busy).toHaveLength(9);
      for (let i = 0; i + rate.max < busy.length; i++) expect(busy[i + rate.max] - busy[i]).toBeGreaterThanOrEqual(rate.windowMs);
      // reached: the nine starts need three windows, and take not much more
      expect(busy[8] - busy[0]).toBeLessThan(4 * rate.windowMs);
      // the other group was not made to wait for the busy one's windows
      expect(Math.max(...startsOf('other')) - busy[0]).toBeLessThan(rate.windowMs);
    });

    it("a busy group does not hold up others: 10 jobs of B queued after 10,000 of A finish before a tenth of A's", async () => {
      const queue = await open();
      const name = uniqueName('group-fair');
      const finished = { A: 0, B: 0 };
      let finishedOfAWhenBDone = -1;
      queue.process<Job, null>(
        name,
        async (job) => {
          await sleep(job.data.ms);
          finished[job.data.group as 'A' | 'B']++;
          if (job.data.group === 'B' && finished.B === 10) finishedOfAWhenBDone = finished.A;
          return null;
        },
        { concurrency: 4, groupConcurrency: 1 },
      );
      const idsOfA: string[] = [];
      for (let i = 0; i < 10_000; i += 1_000) idsOfA.push(...(await enqueueGroups(queue, name, Array.from({ length: 1_000 }, () => ({ group: 'A', ms: 2 })))));
      const ids = await enqueueGroups(queue, name, Array.from({ length: 10 }, () => ({ group: 'B', ms: 2 })));
      const started = Date.now();
      await queue.startWorkers();
      for (const id of ids) expect((await queue.waitForFinish(id, 30_000)).state).toBe('completed');
      expect(finishedOfAWhenBDone).toBeGreaterThanOrEqual(0);
      expect(finishedOfAWhenBDone).toBeLessThan(1_000);
      // A runs on meanwhile, one at a time
      await vi.waitUntil(() => finished.A > finishedOfAWhenBDone, { timeout: 10_000, interval: 20 });
      expect(Date.now() - started).toBeLessThan(30_000);
      // A's last job, held back by its group's limit, is queued and can be cancelled as any queued job
      const last = idsOfA.at(-1)!;
      expect(await queue.getJob(last)).toMatchObject({ state: 'queued', group: 'A' });
      expect(await queue.cancel(last)).toBe('cancelled');
      expect(await queue.getJob(last)).toMatchObject({ state: 'cancelled' });
      const counts = (await queue.counts())[name];
      expect(counts.cancelled).toBe(1);
      expect(counts.queued + counts.active + counts.completed).toBe(10_009);
      // and listed: the newest jobs are B's, then A's that wait
      const recent = await queue.listRecent({ name, limit: 100 });
      expect(recent).toHaveLength(100);
      expect(recent.filter((record) => record.group === 'A' && record.state === 'queued').length).toBeGreaterThan(50);
    }, 90_000);

    it('many groups behind a full group: one job each of 20 groups queued after 3,000 of A all finish before a tenth of A', async () => {
      const queue = await open();
      const name = uniqueName('group-many');
      let finishedOfA = 0;
      const others = new Map<string, number>();
      queue.process<Job, null>(
        name,
        async (job) => {
          await sleep(job.data.ms);
          if (job.data.group === 'A') finishedOfA++;
          else others.set(job.data.group, finishedOfA);
          return null;
        },
        // fewer free slots than groups behind A: they are shared out over several claims
        { concurrency: 6, groupConcurrency: 1 },
      );
      for (let i = 0; i < 3_000; i += 1_000) await enqueueGroups(queue, name, Array.from({ length: 1_000 }, () => ({ group: 'A', ms: 2 })));
      const groups = Array.from({ length: 20 }, (_, i) => `g${String(i).padStart(2, '0')}`);
      const ids = await enqueueGroups(queue, name, groups.map((group) => ({ group, ms: 20 })));
      await queue.startWorkers();
      for (const id of ids) expect((await queue.waitForFinish(id, 30_000)).state).toBe('completed');
      expect([...others.keys()].sort()).toEqual(groups);
      expect(Math.max(...others.values())).toBeLessThan(300);
    }, 90_000);

    it('jobs without a group are not limited by groupConcurrency', async () => {
      const queue = await open();
      const name = uniqueName('group-none');
      const watch = new GroupWatch();
      // room for every ungrouped job and more beside them: only the group's jobs may wait
      queue.process<Job, void>(name, (job) => watch.during(job.data.group || 'none', job.data.ms), { concurrency: 9, groupConcurrency: 1 });
      const ids = await enqueueGroups(queue, name, [...Array.from({ length: 6 }, () => ({ group: '', ms: 300 })), ...Array.from({ length: 3 }, () => ({ group: 'g', ms: 300 }))]);
      await queue.startWorkers();
      for (const id of ids) expect((await queue.waitForFinish(id, 30_000)).state).toBe('completed');
      expect(Object.fromEntries(watch.most)).toEqual({ none: 6, g: 1 });
      expect((await queue.getJob(ids[0]))!.group).toBeNull();
      expect((await queue.getJob(ids[6]))!.group).toBe('g');
    });

    it("a dead worker's group slot comes back once its lease lapses", async () => {
      const name = uniqueName('group-dead');
      const options = { groupConcurrency: 1 };
      const first = await harness().open({ leaseMs: 800 });
      first.process(name, () => new Promise(() => {}), options);
      await first.startWorkers();
      const { id: held } = await first.enqueue(name, null, { group: 'g' });
      await vi.waitUntil(async () => (await first.getJob(held))?.state === 'active', { timeout: 10_000, interval: 25 });
      // dropped without grace: the job keeps its lease (and its group slot) unrenewed, as if the process had died
      await first.close(0);
      const closedAt = Date.now();
      const second = await open({ leaseMs: 800 });
      const { id: next } = await second.enqueue(name, null, { group: 'g' });
      second.process(name, async (job) => `ran on attempt ${job.attempt}`, options);
      await second.startWorkers();
      const done = await second.waitForFinish(next, 20_000);
      expect(done).toMatchObject({ state: 'completed', result: 'ran on attempt 1', group: 'g' });
      // it waited for the slot: the dead worker's lease (renewed up to its close) had to lapse first
      expect(done.startedAt! - closedAt).toBeGreaterThanOrEqual(300);
      expect(await second.waitForFinish(held, 20_000)).toMatchObject({ state: 'completed', result: 'ran on attempt 2' });
    });

    it('jobs held back by a limit run once the limit is gone (a worker that declares none)', async () => {
      const name = uniqueName('group-lifted');
      const limited = await harness().open();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      limited.process(name, () => gate, { groupConcurrency: 1, concurrency: 4 });
      const ids = await limited.enqueueBulk(Array.from({ length: 5 }, () => ({ name, data: null, options: { group: 'g' } })));
      await limited.startWorkers();
      await vi.waitUntil(async () => (await limited.counts())[name]?.active === 1, { timeout: 10_000, interval: 25 });
      await sleep(200);
      release();
      await limited.close(5_000);
      const unlimited = await open();
      const watch = new GroupWatch();
      unlimited.process(name, () => watch.during('g', 200), { concurrency: 4 });
      await unlimited.startWorkers();
      for (const id of ids) expect((await unlimited.waitForFinish(id, 20_000)).state).toBe('completed');
      expect(watch.most.get('g')).toBeGreaterThan(1);
    });

    it('refuses limits that are not whole numbers from 1', async () => {
      const queue = await open();
      expect(() => queue.process(uniqueName('group-bad'), async () => null, { groupConcurrency: 0 })).toThrow(RangeError);
      expect(() => queue.process(uniqueName('group-bad'), async () => null, { groupRate: { max: 2, windowMs: 0 } })).toThrow(RangeError);
      expect(() => queue.process(uniqueName('group-bad'), async () => null, { groupRate: { max: 1.5, windowMs: 100 } })).toThrow(RangeError);
    });
  });
}
