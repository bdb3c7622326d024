// The job queue contract. Two drivers implement it (SQL: embedded default, BullMQ: Redis) and both
// pass the same conformance suite (queue.conformance.ts); modules see only this interface.
import type { Queue } from 'bullmq';
import type { Kysely } from 'kysely';

/** `delayed`: waiting for its run time (runAt, delayMs or a retry's backoff); `queued`: due, waiting for a worker. */
export type JobState = 'queued' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'delayed', 'active', 'completed', 'failed', 'cancelled'];
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export type JobProgress = number | Record<string, unknown>;

/**
 * What a second enqueue with the same `key` does while the key is taken:
 * - `keep`: the existing job wins; the new one is not stored (the answer is the existing job).
 * - `replace`: while the existing job is still queued or delayed, its data, run time, priority
 *   and timeout become the new ones (same id); once it has started, a new job takes the key.
 * - `debounce`: while the existing job is still queued or delayed, its data become the new ones
 *   and its run time moves to now + delayMs (or runAt), so a burst runs once, with the last data;
 *   once it has started, a new job takes the key.
 */
export type KeyMode = 'keep' | 'replace' | 'debounce';
export const KEY_MODES: readonly KeyMode[] = ['keep', 'replace', 'debounce'];

/** Priorities run from 1 (first) to 10 (last); among due jobs of one name a lower number runs first. */
export const PRIORITY_FIRST = 1;
export const PRIORITY_LAST = 10;
export const PRIORITY_DEFAULT = 5;

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
  /** Do not run before this time (epoch ms); not with delayMs. A time in the past is due at once. */
  runAt?: number;
  /** 1 (first) to 10 (last), default 5; FIFO within a priority. */
  priority?: number;
  /**
   * Deduplication key (any string, per job name): see KeyMode. The key is taken from enqueue
   * until keyTtlMs after its job finished (default: until the job is removed by retention).
   */
  key?: string;
  /** default `keep` */
  keyMode?: KeyMode;
  keyTtlMs?: number;
  /**
   * Group (any string, e.g. a host name): the worker options groupConcurrency/groupRate of this
   * job name limit each group apart, across every worker process.
   */
  group?: string;
  /**
   * Each run may take this long: past it the handler's signal aborts with a TimeoutError reason
   * and the run fails with a `timeout: …` error (retried while attempts remain); a result that
   * arrives later is dropped. Default: no timeout.
   */
  timeoutMs?: number;
}

/** One run of a job, kept with it (the last MAX_ATTEMPT_HISTORY runs): when it started and ended, and why it failed. */
export interface AttemptRecord {
  /** 1 for the first run; a retried dead job goes on counting (its runs are not renumbered) */
  attempt: number;
  startedAt: number;
  /** null while it runs */
  finishedAt: number | null;
  /** null: it completed, or it still runs */
  error: string | null;
}
export const MAX_ATTEMPT_HISTORY = 50;
/** A failed run's stack is kept trimmed to this many characters. */
export const MAX_STACK_CHARS = 4_096;

/** One line a handler logged with ctx.log(); a job keeps its last 100 lines, at most 64 KiB in all. */
export interface JobLogLine {
  /** epoch ms */
  at: number;
  message: string;
}
export const MAX_LOG_LINES = 100;
export const MAX_LOG_BYTES = 64 * 1024;

/** Filters of listJobs; every one optional, combined with AND. */
export interface JobFilter {
  name?: string;
  state?: JobState;
  group?: string;
  /** created at or after this time (epoch ms) */
  createdAfter?: number;
  /** created strictly before this time (epoch ms) */
  createdBefore?: number;
  /** 1 to 500 (default 50) */
  limit?: number;
  /** nextCursor of the page before: the next page starts after its last job */
  cursor?: string;
}

/**
 * One page of jobs, newest first (createdAt, then id, both descending). Paging is stable: a job
 * created after the first page was read never shows up on a later page, and none is skipped.
 */
export interface JobPage {
  jobs: JobRecord[];
  /** null on the last page */
  nextCursor: string | null;
}
export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 500;

export type RetryOutcome = 'retried' | 'not_found' | 'not_failed';

/** Per job name, what an operator reads first: GET /queues. */
export interface QueueOverview {
  name: string;
  counts: Record<JobState, number>;
  /** no new run starts on any worker while paused (active runs finish) */
  paused: boolean;
  /** how long the oldest queued (due) job has waited since it became due (ms), null when none waits */
  oldestWaitingMs: number | null;
  /** wait times (due → started, ms) of the runs started in the last 5 minutes; null when none started */
  waitMs: { p50: number; p95: number } | null;
  /** jobs completed in the last 5 minutes, divided by 5 */
  completionsPerMinute: number;
}
/** The window GET /queues figures look back over. */
export const OVERVIEW_WINDOW_MS = 5 * 60_000;

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
  /** 1 (first) to 10 (last) */
  priority: number;
  /** when it is, or was last, due to run (epoch ms) */
  runAt: number;
  timeoutMs: number | null;
  group: string | null;
  key: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** failed with no attempts left (state `failed`): only a retry (retry/retryFailed) runs it again */
  dead: boolean;
  /** the stack of the last failed run (trimmed to MAX_STACK_CHARS), null when none failed or it had none */
  stack: string | null;
  /** its runs, oldest first (the last MAX_ATTEMPT_HISTORY), kept across retries of a dead job */
  history: AttemptRecord[];
}

export interface JobContext<Data = unknown> {
  id: string;
  name: string;
  data: Data;
  /** 1 on the first run */
  attempt: number;
  reportProgress(progress: JobProgress): Promise<void>;
  /**
   * Keeps a line with the job (its last MAX_LOG_LINES lines, MAX_LOG_BYTES in all: older lines
   * are dropped first) and sends it to the job's subscribers as a `log` event.
   */
  log(message: string): Promise<void>;
  /** when this run became due (epoch ms): its wait is startedAt - runAt */
  runAt: number;
  /**
   * Aborted when the worker shuts down past its grace period (reason: an AppError), when the run
   * passes its timeoutMs (reason: a TimeoutError) or when the job is cancelled while it runs
   * (reason: a JobCancelledError, in whichever process runs it).
   */
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
  /** at most this many jobs of one group (EnqueueOptions.group) active at once, across every worker process (default: no limit) */
  groupConcurrency?: number;
  /** at most `max` jobs of one group started per `windowMs`, across every worker process (default: no limit) */
  groupRate?: { max: number; windowMs: number };
}

/** A recurring job: fires once per due time of `cron` in `timezone`, however many worker processes run. */
export interface ScheduleSpec {
  /** five fields (minute precision) or six (a leading seconds field), as croner reads them */
  cron: string;
  /** IANA time zone name (default UTC) */
  timezone?: string;
  job: { name: string; data?: unknown; options?: Pick<EnqueueOptions, 'attempts' | 'backoffMs' | 'priority' | 'group' | 'timeoutMs'> };
}

export interface ScheduleRecord {
  id: string;
  cron: string;
  timezone: string;
  job: { name: string; data: unknown; options: ScheduleSpec['job']['options'] };
  /** the next due time (epoch ms), null when the expression has no more */
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastJobId: string | null;
  /** how many jobs it has made */
  fired: number;
  createdAt: number;
}

/** A schedule that cannot be kept: `field` names what is wrong (`cron`, `timezone`, `id`, `job.name`). */
export class InvalidScheduleError extends RangeError {
  override readonly name = 'InvalidScheduleError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A job that ended for good: completed, or failed with no attempt left (not cancelled). */
export interface FinishedJob {
  id: string;
  name: string;
  state: 'completed' | 'failed';
  result: unknown;
  error: string | null;
  finishedAt: number;
}

/**
 * Told of every job that ended for good, whichever worker process ran it. The SQL driver calls
 * it inside the transaction that records the finish (`db` is that transaction): what it writes
 * commits with the finish or not at all. The BullMQ driver calls it once BullMQ has recorded the
 * finish (`db` undefined): a process that dies in between never makes the call.
 */
export type FinishHook = (jobs: FinishedJob[], db?: Kysely<any>) => Promise<void>;

export type JobEvent =
  | { type: 'progress'; jobId: string; name: string; progress: JobProgress }
  | { type: 'completed'; jobId: string; name: string; result: unknown }
  | { type: 'failed'; jobId: string; name: string; error: string; willRetry: boolean }
  | { type: 'active'; jobId: string; name: string }
  | { type: 'queued'; jobId: string; name: string }
  | { type: 'cancelled'; jobId: string; name: string }
  | { type: 'log'; jobId: string; name: string; line: JobLogLine };

/**
 * - `cancelled`: it was queued or delayed, and is now cancelled (it never runs).
 * - `cancelling`: it was active; its handler's signal is aborted on whichever worker process runs
 *   it, and the job ends `cancelled` (not retried) whether or not the handler heeds the signal:
 *   a result or error that arrives later is dropped.
 * - `not_cancellable`: it had finished.
 */
export type CancelOutcome = 'cancelled' | 'cancelling' | 'not_found' | 'not_cancellable';

/** The reason a cancelled running job's signal is aborted with. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`);
  }
}

export type JobCounts = Record<string, Record<JobState, number>>;

/**
 * Told of every run in this process as the queue records it (metrics): a run the queue ended (its
 * timeout, a cancel) is told as that failure even when its handler ignored the signal and returned.
 */
export interface RunObserver {
  /** a run of a job of `name` starts; `runAt`: when it was due (epoch ms) */
  started(name: string, runAt: number): void;
  /** it ended after `seconds`: `error` undefined when it completed; `signal()` the run's signal (made on demand) */
  ended(name: string, seconds: number, error: unknown, signal: () => AbortSignal): void;
}

export interface JobQueue {
  readonly driver: 'sql' | 'bullmq';

  /** Tells `observer` of every run in this process from now on (one observer; a second replaces it). */
  observeRuns(observer: RunObserver): void;

  enqueue<Data>(name: string, data: Data, options?: EnqueueOptions): Promise<JobRecord<Data>>;
  /** Many jobs in one round trip; returns their ids in order. */
  enqueueBulk<Data>(jobs: { name: string; data: Data; options?: EnqueueOptions }[]): Promise<string[]>;
  getJob<Data = unknown, Result = unknown>(id: string): Promise<JobRecord<Data, Result> | null>;
  /** Cancels a queued or delayed job at once, an active one wherever it runs (see CancelOutcome). */
  cancel(id: string): Promise<CancelOutcome>;

  /** Jobs matching the filter, newest first, one page at a time. Throws a RangeError naming a bad filter (or cursor). */
  listJobs(filter?: JobFilter): Promise<JobPage>;
  /**
   * Queues a failed job again under the same id, with fresh attempts (maxAttempts runs more), due
   * now; its history and the count of runs so far are kept. A job in any other state: `not_failed`.
   */
  retry(id: string): Promise<RetryOutcome>;
  /** retry() for every failed job of this name (that failed at or after failedAfter, epoch ms); how many. */
  retryFailed(filter: { name: string; failedAfter?: number }): Promise<number>;
  /** What ctx.log() kept for the job, oldest first; null if there is no such job. */
  getLogs(id: string): Promise<JobLogLine[] | null>;

  /**
   * No new run of this job name starts on any worker (in any process) until resume(); active runs
   * finish, enqueues are accepted. Stored in the backend: it survives restarts.
   */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /** One overview per job name ever enqueued, paused or processed (sorted by name). */
  overview(): Promise<QueueOverview[]>;

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

  /**
   * Creates or replaces a schedule (stored in the backend: it survives restarts). Schedules fire
   * in processes that run workers (startWorkers), once per due time in all; a due time missed
   * while no worker ran fires once when one starts. Throws an InvalidScheduleError.
   */
  schedule(id: string, spec: ScheduleSpec): Promise<ScheduleRecord>;
  /** Whether there was such a schedule; jobs it made are left alone. */
  unschedule(id: string): Promise<boolean>;
  listSchedules(): Promise<ScheduleRecord[]>;

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

/** EnqueueOptions.priority, checked: a whole number 1 to 10 (default 5). */
export function priorityOf(options: EnqueueOptions): number {
  const priority = options.priority ?? PRIORITY_DEFAULT;
  if (!Number.isInteger(priority) || priority < PRIORITY_FIRST || priority > PRIORITY_LAST) throw new RangeError('priority must be a whole number from 1 to 10');
  return priority;
}

/** When the job is first due (epoch ms), from runAt or delayMs (not both), checked. */
export function runAtOf(options: EnqueueOptions, now: number): number {
  if (options.runAt !== undefined && options.delayMs !== undefined) throw new RangeError('give runAt or delayMs, not both');
  if (options.runAt !== undefined) {
    if (!Number.isFinite(options.runAt)) throw new RangeError('runAt must be a time in epoch milliseconds');
    return Math.max(now, Math.floor(options.runAt));
  }
  return now + Math.max(0, Math.floor(options.delayMs ?? 0));
}

/** EnqueueOptions.timeoutMs, checked: a whole number of milliseconds ≥ 1, or null for none. */
export function timeoutOf(options: EnqueueOptions): number | null {
  if (options.timeoutMs === undefined) return null;
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) throw new RangeError('timeoutMs must be a whole number ≥ 1');
  return options.timeoutMs;
}

/** EnqueueOptions key, mode and TTL, checked; null when the job has no key. */
export function keyOf(options: EnqueueOptions): { key: string; mode: KeyMode; ttlMs: number | null } | null {
  if (options.key === undefined) {
    if (options.keyMode !== undefined || options.keyTtlMs !== undefined) throw new RangeError('keyMode and keyTtlMs need a key');
    return null;
  }
  if (typeof options.key !== 'string' || options.key.length < 1 || options.key.length > 256) throw new RangeError('key must be 1 to 256 characters');
  const mode = options.keyMode ?? 'keep';
  if (!KEY_MODES.includes(mode)) throw new RangeError(`keyMode must be one of ${KEY_MODES.join(', ')}`);
  const ttlMs = options.keyTtlMs ?? null;
  if (ttlMs !== null && (!Number.isInteger(ttlMs) || ttlMs < 0)) throw new RangeError('keyTtlMs must be a whole number ≥ 0');
  return { key: options.key, mode, ttlMs };
}

/** The error of a run that passed its timeoutMs: JobRecord.error starts with `timeout: `. */
export const TIMEOUT_ERROR_PREFIX = 'timeout: ';
export function timeoutErrorMessage(timeoutMs: number): string {
  return `${TIMEOUT_ERROR_PREFIX}the run took longer than its timeout of ${timeoutMs} ms`;
}

/** An error's stack, trimmed for keeping with the job; null when it has none. */
export function trimmedStack(error: unknown): string | null {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return null;
  return error.stack.length <= MAX_STACK_CHARS ? error.stack : `${error.stack.slice(0, MAX_STACK_CHARS - 1)}…`;
}

/** JobFilter.limit, checked (1 to 500, default 50). */
export function listLimitOf(filter: JobFilter): number {
  const limit = filter.limit ?? LIST_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) throw new RangeError(`limit must be a whole number from 1 to ${LIST_LIMIT_MAX}`);
  return limit;
}

/** The position a cursor stands for: the last job of the page before. */
export interface ListCursor {
  createdAt: number;
  id: string;
}
export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}
/** Throws a RangeError (`cursor is not one this server gave`) for anything encodeListCursor did not make. */
export function decodeListCursor(text: string): ListCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (Number.isInteger(createdAt) && typeof id === 'string') return { createdAt: createdAt as number, id };
  } catch {
    // falls through to the RangeError
  }
  throw new RangeError('cursor is not one this server gave');
}

/** Keeps the last MAX_LOG_LINES lines and at most MAX_LOG_BYTES (UTF-8) in all, dropping the oldest first. */
export function boundLogLines(lines: JobLogLine[]): JobLogLine[] {
  let kept = lines.length > MAX_LOG_LINES ? lines.slice(-MAX_LOG_LINES) : lines;
  let bytes = kept.reduce((sum, line) => sum + Buffer.byteLength(line.message), 0);
  while (bytes > MAX_LOG_BYTES && kept.length > 0) {
    bytes -= Buffer.byteLength(kept[0].message);
    kept = kept.slice(1);
  }
  return kept;
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
