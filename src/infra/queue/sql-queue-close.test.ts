// The SQL queue's close() and a claim in flight: a claim already committed in the database (its
// job shows active, leased to this worker) whose rows the worker has not read yet. close() used to
// look at running jobs, find none and return; the job then started, unseen, and was never asked to
// stop (CI saw "close() aborts a job that outlasts the grace period" fail this way on PostgreSQL).
// Here the claim's rows are held after it commits (test/support/held-claims.ts) until close() has
// begun, so the moment is reached every run, on SQLite and on PostgreSQL.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { holdFirstClaim } from '../../../test/support/held-claims.js';
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { settlesWithin } from '../deadline.js';
import type { JobQueue } from './contract.js';

const GRACE_MS = 300;

const setups = await Promise.all((['sql on sqlite', 'sql on postgres'] as const).map(queueSetup));

for (const { label, available, create } of setups) {
  describe.skipIf(!available)(`${label}: close() with a claim in flight`, () => {
    const opened: JobQueue[] = [];
    const disposals: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((queue) => queue.close(0)));
      for (const dispose of disposals) await dispose();
    });

    it('waits for a committed claim, then gives its job the grace period and the abort; the job is not lost', async () => {
      const { config, dispose } = await create();
      disposals.push(dispose);
      const name = `claim-in-flight-${randomBytes(4).toString('hex')}`;
      const hold = holdFirstClaim();
      const worker = await openTestQueue(config, { leaseMs: 1_000 }, undefined, hold.plugin);
      const reader = await openTestQueue(config, { leaseMs: 1_000 });
      opened.push(reader);

      let started = false;
      let aborted!: () => void;
      const abortedRun = new Promise<void>((resolve) => (aborted = resolve));
      worker.process(name, async (job) => {
        started = true;
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted();
        // It stops when asked but never returns: the job stays unfinished, for the next worker.
        await new Promise(() => {});
      });
      await worker.startWorkers();
      const { id } = await reader.enqueue(name, null);

      expect(await hold.caught).toEqual([id]);
      expect(await reader.getJob(id)).toMatchObject({ state: 'active', attempts: 1 });
      expect(started).toBe(false);

      // close() begins while the claim's rows are held; they reach the worker just after.
      const closing = worker.close(GRACE_MS);
      hold.release();
      await closing;
      expect(started, 'the claimed job started before close() returned').toBe(true);
      expect(await settlesWithin(abortedRun, 0), 'the job was asked to stop when the grace period ran out').toBe(true);

      const next = await openTestQueue(config, { leaseMs: 1_000 });
      opened.push(next);
      next.process(name, async (job) => `rerun on attempt ${job.attempt}`);
      await next.startWorkers();
      expect(await next.waitForFinish(id, 15_000)).toMatchObject({ state: 'completed', result: 'rerun on attempt 2' });
    });
  });
}
