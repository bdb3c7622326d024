// Conformance cases of schedules (contract.ts: ScheduleSpec, schedule/unschedule/listSchedules),
// black-box through JobQueue, for every driver. Each test uses schedule ids and job names of its
// own. A scheduled job's id names its due time (scheduledJobId), which is how these cases tell
// ticks apart and measure how late a job started.
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidScheduleError, type JobQueue } from '../contract.js';
import { type QueueHarness, useQueueInstances } from '../queue.conformance.js';
import { dueAtOfJobId } from './schedule-rules.js';

interface Run {
  jobId: string;
  dueAt: number;
  startedAt: number;
}

/** Runs jobs of `name` on `queue`, recording each start. */
async function recordRuns(queue: JobQueue, name: string, runs: Run[]): Promise<void> {
  queue.process(name, async (job) => {
    runs.push({ jobId: job.id, dueAt: dueAtOfJobId(job.id)!, startedAt: Date.now() });
    return null;
  });
  await queue.startWorkers();
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

export function describeScheduleConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`schedule conformance: ${label}`, () => {
    const { open, harness, uniqueName } = useQueueInstances(setup);
    const delays: number[] = [];
    afterAll(() => {
      if (delays.length) console.info(`${label}: schedule due → start over ${delays.length} ticks: p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms, max ${Math.max(...delays)} ms`);
    });

    it('refuses a bad cron, time zone, id or job name, naming the field', async () => {
      const queue = await open();
      const job = { name: uniqueName('valid') };
      const cases: [string, Parameters<JobQueue['schedule']>[1], string][] = [
        ['ok-id', { cron: 'every minute', job }, 'cron'],
        ['ok-id', { cron: '61 * * * *', job }, 'cron'],
        ['ok-id', { cron: '* * * * * * *', job }, 'cron'],
        ['ok-id', { cron: '* * * * *', timezone: 'Mars/Olympus_Mons', job }, 'timezone'],
        ['ok-id', { cron: '* * * * *', timezone: '+05:30', job }, 'timezone'],
        ['bad id', { cron: '* * * * *', job }, 'id'],
        ['', { cron: '* * * * *', job }, 'id'],
        ['x'.repeat(129), { cron: '* * * * *', job }, 'id'],
        ['ok-id', { cron: '* * * * *', job: { name: '_private' } }, 'job.name'],
        ['ok-id', { cron: '* * * * *', job: { name: 'a:b' } }, 'job.name'],
      ];
      for (const [id, spec, field] of cases) {
        const error = await queue.schedule(id, spec).then(() => null, (e: unknown) => e);
        expect(error, `${id} ${JSON.stringify(spec)}`).toBeInstanceOf(InvalidScheduleError);
        expect((error as InvalidScheduleError).field, `${id} ${JSON.stringify(spec)}`).toBe(field);
      }
      expect(await queue.listSchedules()).toEqual([]);
    });

    it('creates, lists, replaces and removes schedules', async () => {
      const queue = await open();
      const [a, b] = [uniqueName('sched-a'), uniqueName('sched-b')];
      const name = uniqueName('job');
      const before = Date.now();
      const created = await queue.schedule(a, { cron: '0 * * * *', job: { name, data: { n: 1 }, options: { attempts: 3, priority: 2 } } });
      expect(created).toMatchObject({ id: a, cron: '0 * * * *', timezone: 'UTC', job: { name, data: { n: 1 }, options: { attempts: 3, priority: 2 } }, lastRunAt: null, lastJobId: null, fired: 0 });
      expect(created.createdAt).toBeGreaterThanOrEqual(before - 5);
      // the next whole hour
      expect(created.nextRunAt! % 3_600_000).toBe(0);
      expect(created.nextRunAt!).toBeGreaterThan(before);
      expect(created.nextRunAt!).toBeLessThanOrEqual(before + 3_600_000);
      await queue.schedule(b, { cron: '*/5 * * * * *', timezone: 'Europe/Paris', job: { name } });
      expect((await queue.listSchedules()).map((s) => s.id)).toEqual([a, b].sort());

      const replaced = await queue.schedule(a, { cron: '30 2 * * *', job: { name, data: { n: 2 } } });
      expect(replaced).toMatchObject({ id: a, cron: '30 2 * * *', job: { name, data: { n: 2 }, options: {} }, createdAt: created.createdAt, fired: 0 });
      expect(new Date(replaced.nextRunAt!).toISOString()).toMatch(/T02:30:00\.000Z$/);
      const listed = await queue.listSchedules();
      expect(listed).toHaveLength(2);
      expect(listed.find((s) => s.id === a)).toEqual(replaced);
      expect(listed.find((s) => s.id === b)).toMatchObject({ timezone: 'Europe/Paris', job: { name, data: null } });

      expect(await queue.unschedule(a)).toBe(true);
      expect(await queue.unschedule(a)).toBe(false);
      expect((await queue.listSchedules()).map((s) => s.id)).toEqual([b]);
      expect(await queue.unschedule(b)).toBe(true);
      expect(await queue.listSchedules()).toEqual([]);
    });

    it('reads the cron in its time zone', async () => {
      const queue = await open();
      const name = uniqueName('tz');
      const now = Date.now();
      const kolkata = await queue.schedule(uniqueName('kolkata'), { cron: '0 9 * * *', timezone: 'Asia/Kolkata', job: { name } });
      const utc = await queue.schedule(uniqueName('utc'), { cron: '0 9 * * *', job: { name } });
      // 09:00 in Kolkata (UTC+5:30, no summer time) is 03:30 UTC
      expect(new Date(kolkata.nextRunAt!).toISOString()).toMatch(/T03:30:00\.000Z$/);
      expect(new Date(utc.nextRunAt!).toISOString()).toMatch(/T09:00:00\.000Z$/);
      for (const next of [kolkata.nextRunAt!, utc.nextRunAt!]) {
        expect(next).toBeGreaterThan(now);
        expect(next).toBeLessThanOrEqual(now + 24 * 3_600_000);
      }
      expect((await queue.listSchedules()).find((s) => s.id === kolkata.id)!.nextRunAt).toBe(kolkata.nextRunAt);
    });

    it('a process that does not run workers fires nothing; one that does, fires', async () => {
      const api = await open();
      const name = uniqueName('api-only');
      const runs: Run[] = [];
      api.process(name, async () => null); // registered, but startWorkers is never called
      const id = uniqueName('api-only');
      await api.schedule(id, { cron: '* * * * * *', job: { name } });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect((await api.counts())[name]).toBeUndefined();
      expect((await api.listSchedules())[0]).toMatchObject({ id, fired: 0, lastRunAt: null });
      await recordRuns(await open(), name, runs);
      await expect.poll(() => runs.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await api.unschedule(id);
    });

    it('a running worker picks up a schedule another process creates, and stops firing it once removed there', async () => {
      const name = uniqueName('pickup');
      const id = uniqueName('pickup');
      const runs: Run[] = [];
      await recordRuns(await open(), name, runs);
      const api = await open();
      const createdAt = Date.now();
      await api.schedule(id, { cron: '* * * * * *', job: { name } });
      await expect.poll(() => runs.length, { timeout: 10_000 }).toBeGreaterThan(0);
      // seen within its refresh (1 s): the first tick after that ran
      expect(Math.min(...runs.map((r) => r.dueAt))).toBeLessThanOrEqual(createdAt + 2_500);
      await api.unschedule(id);
      const removedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(runs.filter((r) => r.dueAt > removedAt + 1_500)).toEqual([]);
    });

    it('a due time missed while no worker ran fires once when a worker starts', async () => {
      const api = await open();
      const name = uniqueName('missed');
      const id = uniqueName('missed');
      await api.schedule(id, { cron: '* * * * * *', job: { name } });
      // at least three due times pass with no worker
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const runs: Run[] = [];
      // The worker's first pass fires the last due time before it. Taking the start after the
      // worker has started, just after a due time, keeps that pass within the same second however
      // slow opening a queue is (a start taken before opening one let the pass slip past the next
      // due time on a slow run, and that time no longer counted as missed).
      await new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + 20));
      await recordRuns(await open(), name, runs);
      const startedAt = Date.now();
      await expect.poll(() => runs.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await api.unschedule(id);
      // the missed times made one job, the last of them; later jobs are ticks after the start
      const missed = runs.filter((run) => run.dueAt <= startedAt);
      expect(missed).toHaveLength(1);
      expect(missed[0]!.dueAt).toBeGreaterThan(startedAt - 1_000);
      await expect.poll(async () => (await api.counts())[name]!.completed, { timeout: 10_000 }).toBe(runs.length);
      expect(new Set(runs.map((r) => r.jobId)).size).toBe(runs.length);
    });

    it('two workers, one restarted midway: 60 ticks of a one-second schedule make exactly 60 jobs', { timeout: 150_000 }, async () => {
      const name = uniqueName('tick');
      const id = uniqueName('tick');
      const runs: Run[] = [];
      const first = await open();
      await recordRuns(first, name, runs);
      let second = await harness().open();
      await recordRuns(second, name, runs);
      try {
        await first.schedule(id, { cron: '* * * * * *', job: { name, data: { from: 'schedule' } } });
        await expect.poll(() => runs.length, { timeout: 10_000 }).toBeGreaterThan(0);
        const firstDue = Math.min(...runs.map((r) => r.dueAt));
        const lastDue = firstDue + 59_000;
        // midway, the second worker stops; another instance takes its place
        await expect.poll(() => runs.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(30);
        await second.close(2_000);
        second = await harness().open();
        await recordRuns(second, name, runs);
        await expect.poll(() => Math.max(...runs.map((r) => r.dueAt)), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(lastDue);
        const fired = (await first.listSchedules()).find((s) => s.id === id)!.fired;
        await first.unschedule(id);
        const window = runs.filter((r) => r.dueAt >= firstDue && r.dueAt <= lastDue);
        const dueTimes = window.map((r) => r.dueAt).sort((a, b) => a - b);
        expect(dueTimes).toEqual(Array.from({ length: 60 }, (_, i) => firstDue + i * 1_000));
        // every job the schedule made ran once, and the schedule counted each
        expect(fired).toBeGreaterThanOrEqual(60);
        await expect.poll(async () => (await first.counts())[name]!.completed, { timeout: 10_000 }).toBe(runs.length);
        expect(new Set(runs.map((r) => r.jobId)).size).toBe(runs.length);
        expect(runs.length - fired).toBeLessThanOrEqual(1); // a tick fired after the read above
        delays.push(...window.map((r) => r.startedAt - r.dueAt));
      } finally {
        await second.close(500);
      }
    });

    it('survives a restart: a new instance sees the schedule, its runs, and fires on', { timeout: 30_000 }, async () => {
      const name = uniqueName('restart');
      const id = uniqueName('restart');
      const runs: Run[] = [];
      const before = await harness().open();
      await recordRuns(before, name, runs);
      await before.schedule(id, { cron: '* * * * * *', job: { name, data: { keep: true } } });
      await expect.poll(() => runs.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      await before.close(2_000);
      const after = await open();
      const [seen] = await after.listSchedules().then((all) => all.filter((s) => s.id === id));
      expect(seen).toMatchObject({ id, cron: '* * * * * *', job: { name, data: { keep: true } } });
      expect(seen!.fired).toBe(runs.length);
      expect(seen!.lastJobId).toBe(runs.at(-1)!.jobId);
      expect(seen!.lastRunAt).toBe(runs.at(-1)!.dueAt);
      expect(await after.getJob(seen!.lastJobId!)).toMatchObject({ name, data: { keep: true } });
      await recordRuns(after, name, runs);
      await expect.poll(async () => (await after.listSchedules()).find((s) => s.id === id)!.fired, { timeout: 10_000 }).toBeGreaterThan(seen!.fired);
      await after.unschedule(id);
    });
  });
}
