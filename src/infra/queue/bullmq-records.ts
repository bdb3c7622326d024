// How a BullMQ job reads as a Workyard JobRecord: the fields take the contract's names and units
// (epoch milliseconds, null when unset); the state is read apart (BullMQ keeps it in lists and sets).
import type { Job, JobsOptions } from 'bullmq';
import type { JobProgress, JobRecord, JobState } from './contract.js';
import { fromBullId } from './bullmq-keys.js';

/**
 * What Workyard keeps per job beyond BullMQ's own options, stored in the job's options under
 * `workyard` (BullMQ stores unknown option fields as given and reads them back in Job.fromId),
 * so any process reads them from the job alone. Fields left unset are not stored.
 */
export interface WorkyardJobFields {
  group?: string;
  key?: string;
  timeoutMs?: number;
}

export type WorkyardJobsOptions = JobsOptions & { workyard?: WorkyardJobFields };

/** The job's group, key and timeoutMs as enqueued (null when unset). */
export function workyardOptionsOf(job: Job): { group: string | null; key: string | null; timeoutMs: number | null } {
  const fields = (job.opts as WorkyardJobsOptions).workyard;
  return { group: fields?.group ?? null, key: fields?.key ?? null, timeoutMs: fields?.timeoutMs ?? null };
}

export function jobToRecord(job: Job, state: JobState): JobRecord {
  const { group, key, timeoutMs } = workyardOptionsOf(job);
  return {
    id: fromBullId(String(job.id)),
    name: job.name,
    data: job.data ?? null,
    state,
    progress: normaliseProgress(job.progress),
    result: state === 'completed' ? (job.returnvalue ?? null) : null,
    // BullMQ keeps the last failure's reason on the job after a successful retry; the contract
    // shows an error only while it is the job's latest word (failed, or queued for a retry).
    error: state === 'failed' || state === 'queued' ? (job.failedReason || null) : null,
    attempts: job.attemptsStarted ?? 0,
    maxAttempts: job.opts.attempts ?? 1,
    priority: 5,
    runAt: job.timestamp + (job.delay ?? 0),
    timeoutMs,
    group,
    key,
    createdAt: job.timestamp,
    startedAt: job.processedOn ?? null,
    // A cancelled job is read from its copy (fetchCancelled), never from a BullMQ job.
    finishedAt: state === 'completed' || state === 'failed' ? (job.finishedOn ?? null) : null,
  };
}

function normaliseProgress(progress: unknown): JobProgress {
  if (typeof progress === 'number') return progress;
  if (progress && typeof progress === 'object') return progress as Record<string, unknown>;
  return 0;
}
