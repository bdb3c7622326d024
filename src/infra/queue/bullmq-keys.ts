// What the BullMQ driver keeps in Redis beside BullMQ's own keys, and how Workyard's ids and job
// names map onto BullMQ's. BullMQ keys are `<prefix>:<queue>:…`; ours live under `<prefix>:_wy:`,
// which no queue can collide with because job names may not start with '_'.

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
  /** sorted set of cancelled job ids of one name, scored by cancellation time */
  cancelledByName(name: string): string {
    return `${this.prefix}:_wy:cancelled-by-name:${name}`;
  }
}

/** Event names the driver adds to BullMQ's event stream of a queue (QueueEvents passes them on). */
export const CANCELLED_EVENT = 'workyard-cancelled';
export const RETRYING_EVENT = 'workyard-retrying';

/**
 * Cancels a job only if it is still waiting (wait, paused, delayed or prioritized), atomically:
 * a worker cannot take it between the check and the removal. The job's record (read by the
 * caller just before) is kept under our cancelled key, with the retention as TTL, so getJob can
 * still report it; `ats` (runs started) is copied from the hash as it stands.
 *   KEYS: job hash, wait, paused, delayed, prioritized, events, cancelled copy, cancelled-by-name, logs
 *   ARGV: bull id, now (ms), retention (ms), Workyard id, record JSON
 *   returns 1 cancelled, 0 no such job, -1 not cancellable (active or finished)
 */
export const CANCEL_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local removed = redis.call('LREM', KEYS[2], 0, ARGV[1])
if removed == 0 then removed = redis.call('LREM', KEYS[3], 0, ARGV[1]) end
if removed == 0 then removed = redis.call('ZREM', KEYS[4], ARGV[1]) end
if removed == 0 then removed = redis.call('ZREM', KEYS[5], ARGV[1]) end
if removed == 0 then return -1 end
local started = redis.call('HGET', KEYS[1], 'ats') or '0'
redis.call('DEL', KEYS[7])
redis.call('HSET', KEYS[7], 'record', ARGV[5], 'cancelledOn', ARGV[2], 'ats', started)
redis.call('PEXPIRE', KEYS[7], ARGV[3])
redis.call('ZADD', KEYS[8], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[8], ARGV[3])
redis.call('DEL', KEYS[1], KEYS[9])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', 10000, '*', 'event', '${CANCELLED_EVENT}', 'jobId', ARGV[1])
return 1
`;
