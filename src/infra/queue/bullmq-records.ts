// How a BullMQ job reads as a Workyard JobRecord: the fields take the contract's names and units
// (epoch milliseconds, null when unset); the state is read apart (BullMQ keeps it in lists and sets).
import type { Job, JobsOptions } from 'bullmq';
import { type JobProgress, type JobRecord, type JobState, PRIORITY_DEFAULT } from './contract.js';
import { fromBullId } from './bullmq-keys.js';
import { attemptHistory } from './attempt-history.js';
import { storedRunsOf } from './bullmq-attempts.js';
import type { JobTraceCarrier } from './job-trace.js';

/**
 * What Workyard keeps per job beyond BullMQ's own options, stored in the job's options under
 * `workyard` (BullMQ stores unknown option fields as given and reads them back in Job.fromId),
 * so any process reads them from the job alone. Fields left unset are not stored.
 */
export interface WorkyardJobFields {
  group?: string;
  key?: string;
  /** EnqueueOptions.keyTtlMs: how long the key stays taken once the job finished */
  keyTtlMs?: number;
  timeoutMs?: number;
  /** when the job was due to run, if later than its creation (BullMQ zeroes its `delay` once due) */
  runAt?: number;
  /** the W3C trace context its runs continue (job-trace.ts), when tracing was on */
  trace?: JobTraceCarrier;
}

export type WorkyardJobsOptions = JobsOptions & { workyard?: WorkyardJobFields };

/** The job's group, key and timeoutMs as enqueued (null when unset). */
export function workyardOptionsOf(job: Job): { group: string | null; key: string | null; timeoutMs: number | null } {
  const fields = (job.opts as WorkyardJobsOptions).workyard;
  return { group: fields?.group ?? null, key: fields?.key ?? null, timeoutMs: fields?.timeoutMs ?? null };
}

/** The fields as stored, for the driver (key release, run times). */
export function workyardFieldsOf(job: Job): WorkyardJobFields {
  return (job.opts as WorkyardJobsOptions).workyard ?? {};
}

/**
 * `delayedUntil`: for a job in BullMQ's delayed set, the due time its score holds (a retry's
 * backoff and a debounce move it; the job hash does not keep it in epoch ms).
 */
/** `runFields`: the values of RUN_FIELDS (bullmq-attempts.ts) read with the job: its kept runs and stack. */
export function jobToRecord(job: Job, state: JobState, delayedUntil: number | null = null, runFields?: (string | null)[]): JobRecord {
  const { group, key, timeoutMs } = workyardOptionsOf(job);
  // BullMQ keeps the last failure's reason on the job after a successful retry; the contract
  // shows an error only while it is the job's latest word (failed, or queued or delayed for a retry).
  const error = state === 'failed' || state === 'queued' || state === 'delayed' ? (job.failedReason || null) : null;
  const attempts = job.attemptsStarted ?? 0;
  const startedAt = job.processedOn ?? null;
  // A cancelled job is read from its copy (fetchCancelled), never from a BullMQ job.
  const finishedAt = state === 'completed' || state === 'failed' ? (job.finishedOn ?? null) : null;
  const stored = runFields ? storedRunsOf(runFields) : { runs: [], stack: null };
  return {
    id: fromBullId(String(job.id)),
    name: job.name,
    data: job.data ?? null,
    state,
    progress: normaliseProgress(job.progress),
    result: state === 'completed' ? (job.returnvalue ?? null) : null,
    error,
    attempts,
    maxAttempts: job.opts.attempts ?? 1,
    // Jobs enqueued before priorities existed have BullMQ's priority 0 (none): they ran as 5.
    priority: job.priority || PRIORITY_DEFAULT,
    runAt: delayedUntil ?? workyardFieldsOf(job).runAt ?? job.timestamp,
    timeoutMs,
    group,
    key,
    createdAt: job.timestamp,
    startedAt,
    finishedAt,
    // A job fails only with no attempts left (a run that may be retried leaves it delayed or queued).
    dead: state === 'failed',
    // the stack goes with the error it explains
    stack: error === null ? null : stored.stack,
    history: attemptHistory(stored.runs, { state, attempts, startedAt, finishedAt, error }),
  };
}

function normaliseProgress(progress: unknown): JobProgress {
  if (typeof progress === 'number') return progress;
  if (progress && typeof progress === 'object') return progress as Record<string, unknown>;
  return 0;
}

/** BullMQ's delayed-set score: the due time (ms) * 0x1000 plus an order within the millisecond. */
export function dueTimeOfDelayedScore(score: number | string): number {
  return Math.floor(Number(score) / 0x1000);
}
