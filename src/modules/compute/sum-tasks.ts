// Sum tasks as clients see them: starting one, and reading its status from the task record,
// falling back to the queue's job while the record still says pending (or was never written).
import type { AppContext } from '../../app-context.js';
import { AppError, validationError } from '../../errors.js';
import type { EnqueueOptions, JobRecord } from '../../infra/queue/contract.js';
import { SUM_ATTEMPTS, SUM_JOB, type SumJobData, type SumJobResult } from './jobs.js';
import { TickBatch } from '../../infra/tick-batch.js';
import { PACED_BATCHES, type ComputeTaskStore } from './store.js';
import { SUM_OVERFLOW_MESSAGE } from './sum.js';

export interface SumRequestBody {
  numbers?: number[];
  args?: number[];
  delay_ms?: number;
}

const CANCELLED_MESSAGE = 'the task was cancelled before it ran';
const CANCELLED_RUNNING_MESSAGE = 'the task was cancelled while it ran';

export type TaskStatus = 'pending' | 'running' | 'done' | 'failed';

export interface TaskResultView {
  session_id: string;
  status: TaskStatus;
  result: number | null;
  error: string | null;
}

/** `args` is the original service's name for `numbers`: exactly one of the two is given. */
export function sumJobData(body: SumRequestBody): SumJobData {
  if (body.numbers !== undefined && body.args !== undefined) {
    throw validationError('args', 'args is another name for numbers: send one of the two, not both');
  }
  const field = body.numbers !== undefined ? 'numbers' : 'args';
  const numbers = body.numbers ?? body.args;
  if (numbers === undefined) throw validationError('numbers', 'numbers is required (or args, its other name)');
  // JSON has no Infinity, but a literal too large for a double (1e999) parses as one, and the
  // shared validator does not refuse it; it would reach the worker as null.
  const infinite = numbers.findIndex((n) => !Number.isFinite(n));
  if (infinite >= 0) throw validationError(field, `${field}[${infinite}]: ${numbers[infinite]} is not a finite number; only finite numbers are accepted`);
  return { numbers, delay_ms: body.delay_ms ?? 0 };
}

/**
 * Starts sum tasks: the tasks asked for in one tick are queued in one bulk call, then recorded as
 * pending in one statement. Queued first: if a worker is faster than the pending insert, its
 * outcome is already recorded and the insert leaves it alone.
 */
export class SumTaskStarter {
  private readonly batcher: TickBatch<{ data: SumJobData; options: EnqueueOptions }, string>;

  constructor(ctx: AppContext, store: ComputeTaskStore) {
    this.batcher = new TickBatch(async (tasks) => {
      const ids = await ctx.queue.enqueueBulk(tasks.map(({ data, options }) => ({ name: SUM_JOB, data, options: { ...SUM_JOB_OPTIONS, ...options } })));
      // A key taken already answers with its task's id, possibly twice in one batch.
      await store.addPending([...new Set(ids)]);
      return ids;
    }, PACED_BATCHES);
  }

  /** Resolves with the task id; `options` (when it runs, its priority, key, timeout) come from the request. */
  start(data: SumJobData, options: EnqueueOptions = {}): Promise<string> {
    return this.batcher.add({ data, options });
  }
}

/** What every sum job is enqueued with: a lost worker leaves the task to another run. */
export const SUM_JOB_OPTIONS = { attempts: SUM_ATTEMPTS, backoffMs: 1_000 } as const;

/** null: no such sum task. */
export async function readSumTask(ctx: AppContext, store: ComputeTaskStore, id: string): Promise<TaskResultView | null> {
  const record = await store.get(id);
  if (record && record.status !== 'pending') {
    return { session_id: id, status: record.status, result: record.result, error: record.error };
  }
  const job = await ctx.queue.getJob<SumJobData, SumJobResult>(id);
  // The task API's ids are shared by every module: another module's job is not a sum task.
  if (!job || job.name !== SUM_JOB) {
    return record ? { session_id: id, status: 'pending', result: null, error: null } : null;
  }
  const view = viewOfJob(job);
  if (view.status === 'done' || view.status === 'failed') {
    // The worker's write was lost (database away at the time): keep the outcome past the queue's retention.
    const outcome = view.status === 'done' ? { status: 'done' as const, result: view.result! } : { status: 'failed' as const, error: view.error! };
    store.recordOutcome(id, outcome).catch((error) => ctx.log.warn({ err: error, taskId: id }, 'repairing a sum task record failed'));
  }
  return view;
}

export function viewOfJob(job: JobRecord<SumJobData, SumJobResult>): TaskResultView {
  const base = { session_id: job.id, result: null, error: null };
  switch (job.state) {
    case 'queued':
    case 'delayed':
      return { ...base, status: 'pending' };
    case 'active':
      return { ...base, status: 'running' };
    case 'completed':
      return typeof job.result === 'number'
        ? { ...base, status: 'done', result: job.result }
        : { ...base, status: 'failed', error: SUM_OVERFLOW_MESSAGE };
    case 'cancelled':
      return { ...base, status: 'failed', error: job.startedAt === null ? CANCELLED_MESSAGE : CANCELLED_RUNNING_MESSAGE };
    case 'failed':
      return { ...base, status: 'failed', error: job.error ?? 'the task failed' };
  }
}

/** What /sync/sum answers when the task did not end with a sum. */
export function failedSumError(id: string, view: TaskResultView): AppError {
  if (view.error === SUM_OVERFLOW_MESSAGE) {
    return new AppError('validation_failed', `numbers: ${SUM_OVERFLOW_MESSAGE}`, { field: 'numbers', task_id: id });
  }
  if (view.error === CANCELLED_MESSAGE) return new AppError('conflict', view.error, { task_id: id });
  return new AppError('internal_error', `the sum task failed: ${view.error ?? 'unknown error'}`, { task_id: id });
}
