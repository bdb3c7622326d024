// Keys (EnqueueOptions.key) on the BullMQ driver: enqueueing with a key and freeing the key once
// its job finished, each one atomic script (bullmq-key-enqueue.lua, bullmq-key-release.lua); and
// the other script that edits a job's stored options, keeping a retry's due time.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { KeyMode } from './contract.js';
import type { WorkyardRedisKeys } from './bullmq-keys.js';
import { loadLua } from '../redis/lua.js';

const ENQUEUE_LUA = loadLua(import.meta.url, 'bullmq-key-enqueue.lua');
const RELEASE_LUA = loadLua(import.meta.url, 'bullmq-key-release.lua');
const RETRY_DUE_LUA = loadLua(import.meta.url, 'bullmq-retry-due.lua');

type RedisWithKeys = Redis & {
  workyardKeyEnqueue?(...args: (string | number)[]): Promise<[string, string]>;
  workyardKeyRelease?(...args: (string | number)[]): Promise<number>;
  workyardRetryDue?(...args: (string | number)[]): Promise<number>;
};

export interface KeyedJob {
  name: string;
  key: string;
  mode: KeyMode;
  /** the new job's ids, used if a new job takes the key */
  id: string;
  bullId: string;
  /** whether the caller chose the id (EnqueueOptions.jobId) */
  chosenId: boolean;
  data: unknown;
  /** the new job's BullMQ options, as BullMQ would store them */
  opts: object;
  now: number;
  runAt: number;
  priority: number;
  timeoutMs: number | null;
}

/**
 * `added`: a new job (bullId) took the key; `kept`: the key's job (bullId) stays as it was;
 * `replaced`: the key's job (bullId) took the new data (and options, per the mode);
 * `taken`: the chosen id already names a job, of job name `name`.
 */
export type KeyedOutcome = { outcome: 'added' | 'kept' | 'replaced'; bullId: string } | { outcome: 'taken'; name: string };

function define(redis: RedisWithKeys): void {
  // ioredis sends a script's text once, then its SHA.
  if (!redis.workyardKeyEnqueue) redis.defineCommand('workyardKeyEnqueue', { numberOfKeys: 12, lua: ENQUEUE_LUA });
  if (!redis.workyardKeyRelease) redis.defineCommand('workyardKeyRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
  if (!redis.workyardRetryDue) redis.defineCommand('workyardRetryDue', { numberOfKeys: 2, lua: RETRY_DUE_LUA });
}

export async function enqueueWithKey(redis: RedisWithKeys, keys: WorkyardRedisKeys, queue: Queue, job: KeyedJob): Promise<KeyedOutcome> {
  define(redis);
  const q = queue.keys;
  const [outcome, value] = await redis.workyardKeyEnqueue!(
    keys.jobKey(job.name, job.key), q.meta, q.marker, q.wait, q.paused, q.prioritized, q.delayed, q.active, q.events, q.pc, keys.index, keys.cancelled(job.id),
    q[''], job.bullId, job.id, job.name, job.mode, JSON.stringify(job.data ?? null), JSON.stringify(job.opts),
    job.now, job.runAt, job.priority, job.timeoutMs ?? '', keys.prefix, job.chosenId ? '1' : '0',
  );
  if (outcome === 'taken') return { outcome, name: value };
  if (outcome === 'added' || outcome === 'kept' || outcome === 'replaced') return { outcome, bullId: value };
  throw new Error(`unexpected reply from bullmq-key-enqueue.lua: ${outcome}`);
}

/** Frees the key `ttlMs` after its job finished (now; 0: at once), unless a newer job holds it. */
export async function releaseKey(redis: RedisWithKeys, keys: WorkyardRedisKeys, job: { name: string; key: string; bullId: string }, ttlMs: number): Promise<void> {
  define(redis);
  await redis.workyardKeyRelease!(keys.jobKey(job.name, job.key), job.bullId, Math.max(0, ttlMs));
}

/** Copies a retry's due time from BullMQ's delayed set into the job's options (bullmq-retry-due.lua). */
export async function keepRetryDueTime(redis: RedisWithKeys, queue: Queue, bullId: string): Promise<void> {
  define(redis);
  await redis.workyardRetryDue!(queue.keys.delayed, queue.toKey(bullId), bullId);
}
