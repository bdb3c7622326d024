// The finish hook (contract FinishHook) on every driver: told once of each job that ended for good
// (completed, or failed with no attempt left), never of a run that is retried nor of a cancelled
// job; on the SQL driver inside the finishing transaction, whose writes commit with the finish.
import { describe, expect, it, vi } from 'vitest';
import { sql } from 'kysely';
import type { FinishHook, FinishedJob } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

export function describeFinishHookConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue finish hook: ${label}`, () => {
    const queues = useQueueInstances(setup);

    it('tells of completed jobs and of jobs failed for good, once each, with their outcome', async () => {
      const told: FinishedJob[] = [];
      const inTransaction: boolean[] = [];
      const onFinished: FinishHook = async (jobs, db) => {
        told.push(...jobs);
        inTransaction.push(db !== undefined);
        // on SQL, the hook writes through the finishing transaction
        if (db) await sql`select 1`.execute(db);
      };
      const queue = await queues.open({ onFinished });
      const ok = queues.uniqueName('hook-ok');
      const fails = queues.uniqueName('hook-fails');
      const slow = queues.uniqueName('hook-cancelled');
      queue.process(ok, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }));
      queue.process(fails, async () => {
        throw new Error('always');
      });
      queue.process(slow, async (job) => {
        await new Promise((_resolve, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason)));
      });
      await queue.startWorkers();
      const done = await queue.enqueue(ok, { n: 21 });
      const failed = await queue.enqueue(fails, {}, { attempts: 3, backoffMs: 10 });
      const cancelled = await queue.enqueue(slow, {});
      await vi.waitFor(async () => expect((await queue.getJob(cancelled.id))?.state).toBe('active'), { timeout: 10_000 });
      expect(await queue.cancel(cancelled.id)).toBe('cancelling');
      await queue.waitForFinish(done.id, 10_000);
      await queue.waitForFinish(failed.id, 10_000);
      await queue.waitForFinish(cancelled.id, 10_000);
      await vi.waitFor(() => expect(told.map((job) => job.id).sort()).toEqual([done.id, failed.id].sort()), { timeout: 5_000 });
      expect(told.find((job) => job.id === done.id)).toMatchObject({ name: ok, state: 'completed', result: { doubled: 42 }, error: null });
      expect(told.find((job) => job.id === failed.id)).toMatchObject({ name: fails, state: 'failed', error: 'always' });
      expect(told.every((job) => job.finishedAt > 0)).toBe(true);
      expect(inTransaction.every((inside) => inside === (queue.driver === 'sql'))).toBe(true);
      // nothing more comes later (no second call for a job)
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(told).toHaveLength(2);
    });

    if (label.startsWith('sql')) {
      it('SQL: a hook that throws rolls the finish back, and the outcome is recorded again', async () => {
        let failures = 1;
        const told: string[] = [];
        const queue = await queues.open({
          onFinished: async (jobs) => {
            if (failures-- > 0) throw new Error('the hook failed once');
            told.push(...jobs.map((job) => job.id));
          },
        });
        const name = queues.uniqueName('hook-retry');
        queue.process(name, async () => 'ok');
        await queue.startWorkers();
        const job = await queue.enqueue(name, {});
        expect((await queue.waitForFinish(job.id, 10_000)).state).toBe('completed');
        expect(told).toEqual([job.id]);
      });
    }
  });
}
