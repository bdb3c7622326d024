// Dead jobs on the BullMQ driver (#18): the failed runs and the last stack are kept as fields of
// BullMQ's own hash of the job (`wy:runs`, `wy:stack`), so they survive restarts and go
// when BullMQ removes the job (retention); a run that completed or still runs is read from the
// job itself (attempt-history.ts). Retrying is BullMQ's Job.retry, which moves the job from the
// failed set atomically (two callers at once: one wins, the other finds it no longer failed).
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type AttemptRecord, type RetryOutcome, errorMessage, trimmedStack } from './contract.js';
import { parseStoredAttempts } from './attempt-history.js';
import { type WorkyardRedisKeys, fromBullId } from './bullmq-keys.js';
import { loadLua } from '../redis/lua.js';

const RUNS_FIELD = 'wy:runs';
const STACK_FIELD = 'wy:stack';
/** the fields to read (HMGET) beside the job, for storedRunsOf */
export const RUN_FIELDS = [RUNS_FIELD, STACK_FIELD] as const;
const RUN_RECORD_LUA = loadLua(import.meta.url, 'bullmq-run-record.lua');
const RETRY_AFTER_LUA = loadLua(import.meta.url, 'bullmq-retry-after.lua');

type RedisWithRuns = Redis & {
  workyardRunRecord?(...args: (string | number)[]): Promise<number>;
  workyardRetryAfter?(...args: (string | number)[]): Promise<number>;
};

function define(redis: RedisWithRuns): void {
  if (!redis.workyardRunRecord) redis.defineCommand('workyardRunRecord', { numberOfKeys: 1, lua: RUN_RECORD_LUA });
  if (!redis.workyardRetryAfter) redis.defineCommand('workyardRetryAfter', { numberOfKeys: 2, lua: RETRY_AFTER_LUA });
}

/** The runs and stack kept with a job: the values of RUN_FIELDS, in order. */
export function storedRunsOf(fields: (string | null)[]): { runs: AttemptRecord[]; stack: string | null } {
  return { runs: parseStoredAttempts(fields[0] ?? null), stack: fields[1] || null };
}

/** Keeps a failed run of a job still in Redis: awaited before the run's error reaches BullMQ, so it is written before the job can be removed. */
export async function recordFailedRun(redis: RedisWithRuns, queue: Queue, job: Job, error: unknown, finishedAt: number): Promise<void> {
  define(redis);
  const attempt = job.attemptsStarted ?? 1;
  const run: AttemptRecord = { attempt, startedAt: job.processedOn ?? finishedAt, finishedAt, error: errorMessage(error) };
  await redis.workyardRunRecord!(queue.toKey(String(job.id)), RUNS_FIELD, JSON.stringify(run), trimmedStack(error) ?? '');
}

/**
 * Queues a failed job again with fresh attempts (BullMQ's count of failed runs reset, its count
 * of started runs kept), then bullmq-retry-after.lua. `not_failed` for a job in any other state.
 */
export async function retryBullJob(redis: RedisWithRuns, keys: WorkyardRedisKeys, queue: Queue, bullId: string): Promise<RetryOutcome> {
  define(redis);
  const job = await Job.fromId(queue, bullId);
  if (!job) return (await redis.exists(keys.cancelled(fromBullId(bullId)))) ? 'not_failed' : 'not_found';
  if ((await redis.zscore(queue.keys.failed, bullId)) === null) return 'not_failed';
  try {
    await job.retry('failed', { resetAttemptsMade: true });
  } catch {
    // another caller retried it first, or it was removed meanwhile
    return (await redis.exists(queue.toKey(bullId))) ? 'not_failed' : 'not_found';
  }
  const key = (job.opts as { workyard?: { key?: string } }).workyard?.key;
  await redis.workyardRetryAfter!(queue.toKey(bullId), key === undefined ? queue.toKey(bullId) : keys.jobKey(job.name, key), bullId, key === undefined ? '0' : '1');
  return 'retried';
}

/** The ids (BullMQ's) of a queue's failed jobs that failed at or after `failedAfter` (the failed set is scored by finish time). */
export function failedSince(redis: Redis, queue: Queue, failedAfter: number | null): Promise<string[]> {
  return redis.zrangebyscore(queue.keys.failed, failedAfter === null ? '-inf' : Math.ceil(failedAfter), '+inf');
}
