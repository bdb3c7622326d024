// The run observer (JobQueue.observeRuns, what /metrics counts) on every driver: told of each run
// as the queue records it — a completion, a failure, and a run the queue ended (its timeout, a
// cancel) as that failure even when the handler ignored its signal and returned later.
import { describe, expect, it, vi } from 'vitest';
import { JobCancelledError, type RunObserver } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';
import { JobTimeoutError } from './worker-core.js';

interface Told {
  name: string;
  outcome: 'started' | 'completed' | 'failed';
  error?: unknown;
  aborted?: boolean;
}

export function describeRunObserverConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue run observer: ${label}`, () => {
    const queues = useQueueInstances(setup);

    it('tells of each run as the queue records it, a run ended by its timeout or a cancel as that failure', async () => {
      const told: Told[] = [];
      const observer: RunObserver = {
        started: (name) => void told.push({ name, outcome: 'started' }),
        ended: (name, seconds, error, signal) => {
          expect(seconds).toBeGreaterThanOrEqual(0);
          told.push(error === undefined ? { name, outcome: 'completed' } : { name, outcome: 'failed', error, aborted: signal().aborted });
        },
      };
      const queue = await queues.open();
      queue.observeRuns(observer);
      const ok = queues.uniqueName('observed-ok');
      const fails = queues.uniqueName('observed-fails');
      const ignores = queues.uniqueName('observed-ignores');
      const cancelled = queues.uniqueName('observed-cancelled');
      const handlerReturned: string[] = [];
      queue.process(ok, async () => 'done');
      queue.process(fails, async () => {
        throw new Error('nope');
      });
      // both never look at their signal, and return once done
      queue.process(ignores, async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        handlerReturned.push(ignores);
        return 'late';
      });
      queue.process(cancelled, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        handlerReturned.push(cancelled);
        return 'late';
      });
      await queue.startWorkers();
      const jobs = [await queue.enqueue(ok, {}), await queue.enqueue(fails, {}), await queue.enqueue(ignores, {}, { timeoutMs: 100 })];
      const toCancel = await queue.enqueue(cancelled, {});
      await vi.waitFor(async () => expect((await queue.getJob(toCancel.id))?.state).toBe('active'), { timeout: 10_000 });
      expect(await queue.cancel(toCancel.id)).toBe('cancelling');
      for (const job of [...jobs, toCancel]) await queue.waitForFinish(job.id, 10_000);
      // the ignoring handlers return later: what the observer was told stays as the queue recorded it
      await vi.waitFor(() => expect(handlerReturned.sort()).toEqual([cancelled, ignores].sort()), { timeout: 5_000 });

      const ended = (name: string) => told.filter((entry) => entry.name === name && entry.outcome !== 'started');
      for (const name of [ok, fails, ignores, cancelled]) expect(told.filter((entry) => entry.name === name && entry.outcome === 'started')).toHaveLength(1);
      expect(ended(ok)).toEqual([{ name: ok, outcome: 'completed' }]);
      expect(ended(fails)).toEqual([{ name: fails, outcome: 'failed', error: expect.objectContaining({ message: 'nope' }), aborted: false }]);
      expect(ended(ignores)).toEqual([{ name: ignores, outcome: 'failed', error: expect.any(JobTimeoutError), aborted: true }]);
      expect(ended(cancelled)).toEqual([{ name: cancelled, outcome: 'failed', error: expect.any(JobCancelledError), aborted: true }]);
    });
  });
}
