// What the BullMQ driver keeps in Redis beside BullMQ's own keys, and how Workyard's ids and job
// names map onto BullMQ's. BullMQ keys are `<prefix>:<queue>:…`; ours live under `<prefix>:_wy:`,
// which no queue can collide with because job names may not start with '_'.
import type { ChainableCommander, Redis } from 'ioredis';
import { loadLua } from '../redis/lua.js';

// BullMQ refuses custom ids that look like integers (its own ids are integers) or contain ':'.
// Such ids (and any starting with '~') are stored as '~' + base64url, reversibly, so callers
// may choose any id, as the SQL driver allows.
const ESCAPE = '~';

export function toBullId(id: string): string {
  const escape = id.startsWith(ESCAPE) || id.includes(':') || `${parseInt(id, 10)}` === id;
  return escape ? ESCAPE + Buffer.from(id).toString('base64url') : id;
}

export function fromBullId(bullId: string): string {
  return bullId.startsWith(ESCAPE) ? Buffer.from(bullId.slice(1), 'base64url').toString() : bullId;
}

/** The replies of a pipeline or MULTI, in order; the first failed command's error is thrown. */
export async function repliesOf(commands: ChainableCommander): Promise<unknown[]> {
  const replies = (await commands.exec()) ?? [];
  const failure = replies.find(([error]) => error);
  if (failure) throw failure[0];
  return replies.map(([, value]) => value);
}

export class WorkyardRedisKeys {
  constructor(readonly prefix: string) {}
  /** hash: job id → job name, so getJob/cancel work with the id alone */
  get index(): string {
    return `${this.prefix}:_wy:index`;
  }
  /** set of every job name ever enqueued, for counts() and listRecent() */
  get names(): string {
    return `${this.prefix}:_wy:names`;
  }
  /** hash {record, cancelledOn, ats}: the job as it was when cancelled (BullMQ has no such state); expires with retention */
  cancelled(id: string): string {
    return `${this.prefix}:_wy:cancelled:${id}`;
  }
  /**
   * string: the BullMQ id of the job holding this key (EnqueueOptions.key) of this job name
   * (names hold no ':', so the split is unambiguous); see bullmq-key-enqueue.lua
   */
  jobKey(name: string, key: string): string {
    return `${this.prefix}:_wy:key:${name}:${key}`;
  }
  /**
   * sorted sets of job ids scored by creation time (epoch ms), of every name and of one: listJobs
   * walks them newest first (ties in reverse byte order of the id); the index sweeper removes ids
   * whose job retention removed. (Names hold no ':', so the two never meet.)
   */
  get createdAll(): string {
    return `${this.prefix}:_wy:created`;
  }
  createdByName(name: string): string {
    return `${this.prefix}:_wy:created:${name}`;
  }
  /** sorted set of cancelled job ids of one name, scored by cancellation time */
  cancelledByName(name: string): string {
    return `${this.prefix}:_wy:cancelled-by-name:${name}`;
  }
}

/** Event names the driver adds to BullMQ's event stream of a queue (QueueEvents passes them on). */
export const CANCELLED_EVENT = 'workyard-cancelled';
export const RETRYING_EVENT = 'workyard-retrying';
/** a line of ctx.log (bullmq-log.lua): jobId, at (ms), message */
export const LOG_EVENT = 'workyard-log';

const CANCEL_LUA = loadLua(import.meta.url, 'bullmq-cancel.lua');

/** The keys bullmq-cancel.lua reads and writes, by name (cancelJob passes them in its order). */
export interface CancelKeys {
  /** BullMQ's hash of the job (its `ats`: runs started) and the job's log list */
  job: string;
  logs: string;
  /** BullMQ's lists and sorted sets of the queue's jobs not yet taken */
  wait: string;
  paused: string;
  delayed: string;
  prioritized: string;
  /** the queue's event stream: the cancelled event goes there */
  events: string;
  /** ours: WorkyardRedisKeys.cancelled(id) and cancelledByName(name) */
  cancelled: string;
  cancelledByName: string;
}

type RedisWithCancel = Redis & { workyardCancel?(...args: (string | number)[]): Promise<number> };

/**
 * Cancels a job only if it is still waiting, atomically (bullmq-cancel.lua); `record` is the job
 * as read just before. 1 cancelled, 0 no such job, -1 not cancellable (active or finished).
 */
export function cancelJob(redis: RedisWithCancel, k: CancelKeys, job: { bullId: string; id: string; record: string }, retentionMs: number): Promise<number> {
  // ioredis sends the script's text once, then its SHA.
  if (!redis.workyardCancel) redis.defineCommand('workyardCancel', { numberOfKeys: 9, lua: CANCEL_LUA });
  return redis.workyardCancel!(
    k.job, k.wait, k.paused, k.delayed, k.prioritized, k.events, k.cancelled, k.cancelledByName, k.logs,
    job.bullId, Date.now(), retentionMs, job.id, job.record, CANCELLED_EVENT,
  );
}
