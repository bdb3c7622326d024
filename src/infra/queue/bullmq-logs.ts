// Job logs on the BullMQ driver (ctx.log, getLogs, `log` events): each line goes into BullMQ's
// list of the job's logs, bounded by bullmq-log.lua, and into the queue's event stream, which the
// event hub (bullmq-events.ts) hands to subscribers in every process, as it does progress.
// BullMQ deletes the list with its job (retention, removal).
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobLogLine, MAX_LOG_BYTES, MAX_LOG_LINES } from './contract.js';
import { LOG_EVENT, repliesOf, toBullId } from './bullmq-keys.js';
import { logLineOf } from './job-logs.js';
import { loadLua } from '../redis/lua.js';

const LOG_LUA = loadLua(import.meta.url, 'bullmq-log.lua');

type RedisWithLog = Redis & { workyardLog?(...args: (string | number)[]): Promise<number> };

/** An entry as stored: "<ISO time> <message>" (bullmq-log.lua counts the time as 25 bytes). */
function entryOf(line: JobLogLine): string {
  return `${new Date(line.at).toISOString()} ${line.message}`;
}

const ENTRY = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;

/** An entry read back; one written by BullMQ's own Job.log (no time) reads with time 0. */
export function lineOfEntry(entry: string): JobLogLine {
  const time = ENTRY.exec(entry);
  return time ? { at: Date.parse(time[1]), message: entry.slice(time[0].length) } : { at: 0, message: entry };
}

/** ctx.log of a running job; false when the job no longer exists (its line is dropped). */
export async function appendJobLog(redis: RedisWithLog, queue: Queue, job: Job, message: unknown): Promise<boolean> {
  const line = logLineOf(message);
  if (!redis.workyardLog) redis.defineCommand('workyardLog', { numberOfKeys: 3, lua: LOG_LUA });
  const jobKey = queue.toKey(String(job.id));
  const added = await redis.workyardLog!(jobKey, `${jobKey}:logs`, queue.keys.events, String(job.id), entryOf(line), MAX_LOG_LINES, MAX_LOG_BYTES, LOG_EVENT, line.at, line.message);
  return added === 1;
}

/**
 * The job's lines, oldest first; null when it has no job. A cancelled job (kept by us, not by
 * BullMQ) answers whatever lines are left of it.
 */
export async function readJobLogs(redis: Redis, queue: Queue, id: string, cancelledKey: string): Promise<JobLogLine[] | null> {
  const jobKey = queue.toKey(toBullId(id));
  const [exists, entries, cancelled] = await repliesOf(redis.multi().exists(jobKey).lrange(`${jobKey}:logs`, 0, -1).exists(cancelledKey));
  if (exists !== 1 && cancelled !== 1) return null;
  return (entries as string[]).map(lineOfEntry);
}
