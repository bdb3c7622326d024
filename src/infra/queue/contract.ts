// The job queue contract. Two drivers implement it (SQL: embedded default, BullMQ: Redis) and both
// pass the same conformance suite (queue.conformance.ts); modules see only this interface.
import type { Queue } from 'bullmq';

export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'active', 'completed', 'failed', 'cancelled'];
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export type JobProgress = number | Record<string, unknown>;

export interface EnqueueOptions {
  /**
   * Caller-chosen id: enqueueing the same id twice stores one job (idempotent enqueue), also once
   * that job has finished, for as long as the queue keeps it.
   */
  jobId?: string;
  /** Total runs allowed, the first included (default 1). */
  attempts?: number;
  /** Exponential backoff base: the n-th retry waits backoffMs * 2^(n-1) (default 1000). */
  backoffMs?: number;
  /** Do not run before this many milliseconds from now. */
  delayMs?: number;
}

export interface JobRecord<Data = unknown, Result = unknown> {
  id: string;
  name: string;
  data: Data;
  state: JobState;
  progress: JobProgress;
  result: Result | null;
  error: string | null;
  /** runs started so far */
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface JobContext<Data = unknown> {
  id: string;
  name: string;
  data: Data;
  /** 1 on the first run */
  attempt: number;
  reportProgress(progress: JobProgress): Promise<void>;
  /** aborted when the worker shuts down past its grace period */
  signal: AbortSignal;
}

/**
 * Runs one job. Returning ends it `completed`; throwing ends the run `failed` (retried while
 * attempts remain, unless the error is a PermanentJobError).
 */
export type JobHandler<Data = unknown, Result = unknown> = (job: JobContext<Data>) => Promise<Result>;

export interface WorkerOptions {
  /** jobs of this name run at most this many at once in this process (default 1) */
  concurrency?: number;
}

export type JobEvent =
  | { type: 'progress'; jobId: string; name: string; progress: JobProgress }
  | { type: 'completed'; jobId: string; name: string; result: unknown }
  | { type: 'failed'; jobId: string; name: string; error: string; willRetry: boolean }
  | { type: 'active'; jobId: string; name: string }
  | { type: 'queued'; jobId: string; name: string }
  | { type: 'cancelled'; jobId: string; name: string };

export type CancelOutcome = 'cancelled' | 'not_found' | 'not_cancellable';

export type JobCounts = Record<string, Record<JobState, number>>;

export interface JobQueue {
  readonly driver: 'sql' | 'bullmq';

  enqueue<Data>(name: string, data: Data, options?: EnqueueOptions): Promise<JobRecord<Data>>;
  /** Many jobs in one round trip; returns their ids in order. */
  enqueueBulk<Data>(jobs: { name: string; data: Data; options?: EnqueueOptions }[]): Promise<string[]>;
  getJob<Data = unknown, Result = unknown>(id: string): Promise<JobRecord<Data, Result> | null>;
  /** Cancels a queued (or delayed) job; an active or finished one is not cancellable. */
  cancel(id: string): Promise<CancelOutcome>;

  /**
   * Resolves with the job's record once it is completed, failed or cancelled, without blocking
   * the event loop. Rejects with a TimeoutError after timeoutMs (the job goes on), and with a
   * NotFound AppError if there is no such job.
   */
  waitForFinish<Data = unknown, Result = unknown>(id: string, timeoutMs: number): Promise<JobRecord<Data, Result>>;

  /** Events of one job (for live views); returns the unsubscribe function. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void;

  /** Runs jobs of this name in this process once `startWorkers` is called. */
  process<Data, Result>(name: string, handler: JobHandler<Data, Result>, options?: WorkerOptions): void;
  startWorkers(): Promise<void>;

  /** Per job name, how many jobs are in each state. */
  counts(): Promise<JobCounts>;
  /** Most recently created jobs, newest first. */
  listRecent(options?: { limit?: number; name?: string }): Promise<JobRecord[]>;

  /** Throws a DependencyUnavailableError when the backend is down. */
  ping(): Promise<void>;
  /** Stops taking jobs, lets active ones finish for up to graceMs, then closes. */
  close(graceMs?: number): Promise<void>;

  /** Only on the BullMQ driver: its own objects, for admin tools (bull-board at /admin/queues). */
  readonly bullmq?: {
    /** one BullMQ Queue per job name ever enqueued (in any process), read again on each call */
    queues(): Promise<Queue[]>;
  };
}

/**
 * Job names are letters, digits, '.', '_' and '-' (1 to 128, starting with a letter or digit) on
 * every driver: BullMQ queue names cannot contain ':', and a module tested on the embedded
 * driver must not fail only once it runs on Redis.
 */
export function assertJobName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new RangeError(`job name ${JSON.stringify(name)} is invalid: expected letters, digits, '.', '_' or '-' (1 to 128), starting with a letter or digit`);
  }
}

/** EnqueueOptions.attempts, checked: a whole number ≥ 1 (default 1). */
export function maxAttemptsOf(options: EnqueueOptions): number {
  const attempts = options.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('attempts must be a whole number ≥ 1');
  return attempts;
}

/** Whether a run that threw is retried; `failedRuns` counts this one (stalled runs do not count). */
export function willRetry(failedRuns: number, maxAttempts: number, error: unknown): boolean {
  return failedRuns < maxAttempts && !isPermanentJobError(error);
}

/** Delay before retry `retry` (1-based) with exponential backoff. */
export function backoffDelay(backoffMs: number, retry: number): number {
  return backoffMs * 2 ** Math.max(0, retry - 1);
}

/**
 * A failure that running the job again cannot fix (a sum beyond range, a page that refuses): a
 * handler throws it to fail the job at once, with this message, whatever attempts are left.
 * Any other error is retried while attempts remain.
 */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

/** By name too: an error built by another copy of this module (a worker thread) is still permanent. */
export function isPermanentJobError(error: unknown): boolean {
  return error instanceof PermanentJobError || (error instanceof Error && error.name === 'PermanentJobError');
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
