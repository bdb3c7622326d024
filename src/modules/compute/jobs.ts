// The compute.sum job: what a worker does with a sum task, in whichever process runs workers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../../app-context.js';
import { type JobQueue, PermanentJobError } from '../../infra/queue/contract.js';
import type { ComputeTaskStore } from './store.js';
import { SUM_OVERFLOW_MESSAGE, compensatedSum } from './sum.js';
import { TaskPruner } from './task-pruning.js';

export const SUM_JOB = 'compute.sum';

export interface SumJobData {
  numbers: number[];
  delay_ms: number;
}

/**
 * The sum. A sum beyond the range of a double fails the job instead (PermanentJobError); null is
 * what jobs finished before that change hold.
 */
export type SumJobResult = number | null;

/**
 * Sum jobs running at once in one worker process. A sum takes microseconds of CPU (0.3 ms for
 * 100,000 numbers); its delay_ms is a timer, not work. So the bound is not CPU but memory (each
 * running job holds its numbers) and it must be wide enough that waiting tasks do not queue behind
 * each other: 10,000 tasks with delay_ms 2,000 all finish in one round of about 2 s, well inside
 * the 10 s sync timeout, instead of in waves past it.
 */
export const SUM_CONCURRENCY = 10_000;

/** A worker lost mid-task (crash, or shutdown past its grace) leaves the task to another run. */
export const SUM_ATTEMPTS = 3;

/** Registers the sum and starts pruning old finished task records (worker processes only); returns the pruner to stop. */
export function computeJobs(queue: JobQueue, ctx: AppContext, store: ComputeTaskStore): TaskPruner {
  const pruner = new TaskPruner(store, { retentionMs: ctx.config.computeTaskRetentionMs, log: ctx.log });
  pruner.start();
  queue.process<SumJobData, SumJobResult>(
    SUM_JOB,
    async (job) => {
      // Aborted when the worker shuts down past its grace period: the queue runs the task again.
      if (job.data.delay_ms > 0) await sleep(job.data.delay_ms, undefined, { signal: job.signal });
      const sum = compensatedSum(job.data.numbers);
      const outcome = sum === null ? { status: 'failed' as const, error: SUM_OVERFLOW_MESSAGE } : { status: 'done' as const, result: sum };
      // The queue keeps the result too, and a read of the task repairs a record this write missed,
      // so a database that is briefly away does not cost the result.
      await store.recordOutcome(job.id, outcome).catch((error) => ctx.log.warn({ err: error, taskId: job.id }, 'recording a sum task outcome failed'));
      // The task failed, so the job fails (failed in the task API, the counts, the dashboard); the
      // same numbers overflow on every run, so no retry.
      if (sum === null) throw new PermanentJobError(SUM_OVERFLOW_MESSAGE);
      return sum;
    },
    { concurrency: SUM_CONCURRENCY },
  );
  return pruner;
}
