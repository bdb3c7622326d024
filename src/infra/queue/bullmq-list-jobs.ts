// listJobs on the BullMQ driver. BullMQ keeps no order by creation time (its finished sets are
// scored by finish time, its wait list by arrival, its prioritized set by priority), so the
// driver keeps one: sorted sets of ids by creation time, of every name and per name
// (WorkyardRedisKeys.createdAll/createdByName, written at enqueue). A page reads candidates in
// order and keeps those that pass the filter, as getJob shows them, until it has limit + 1:
// - with a state whose jobs are few (≤ SMALL_STATE over the names asked), its BullMQ list or set
//   is read whole, the ids' creation times looked up (ZMSCORE), sorted, and only ids after the
//   cursor are read as jobs: cost O(jobs in that state) per page, nothing read that fails the state;
// - otherwise (no state, or a state holding most jobs, as `completed` does) the created-time set
//   is walked from the cursor (bullmq-list-created.lua, one atomic chunk at a time): cost
//   O(jobs of the name created between the cursor and the page's last job). A filter that few
//   of those pass (a rare group, a big state that is a small part of a bigger name) walks more.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobPage, type JobRecord, type JobState, encodeListCursor } from './contract.js';
import { type CheckedJobFilter, matchesJobFilter } from './job-filter.js';
import { type WorkyardRedisKeys, fromBullId, repliesOf, toBullId } from './bullmq-keys.js';
import { BullGroupGate, groupKeysOf } from './bullmq-groups.js';
import { loadLua } from '../redis/lua.js';

/** a state with at most this many jobs (over the names asked) is read whole rather than walked for */
const SMALL_STATE = 10_000;
/** a walk reads at most this many ids per chunk */
const MAX_CHUNK = 1_000;
const LIST_CREATED_LUA = loadLua(import.meta.url, 'bullmq-list-created.lua');

type RedisWithList = Redis & { workyardListCreated?(...args: (string | number)[]): Promise<string[]> };

export interface ListingDeps {
  redis: RedisWithList;
  keys: WorkyardRedisKeys;
  queueFor(name: string): Queue;
  /** the job as getJob shows it (null: gone) */
  fetchRecord(id: string, name: string): Promise<JobRecord | null>;
  /** tests: read a state whole only up to this many jobs (default SMALL_STATE) */
  smallState?: number;
}

interface Candidate {
  id: string;
  name: string;
}

export async function listBullJobs(deps: ListingDeps, filter: CheckedJobFilter): Promise<JobPage> {
  const candidates = (await fewInState(deps, filter)) ?? walkCreated(deps, filter);
  const found: JobRecord[] = [];
  for await (const batch of candidates) {
    const records = await Promise.all(batch.map((c) => deps.fetchRecord(c.id, c.name)));
    for (const record of records) {
      if (record && matchesJobFilter(record, filter)) found.push(record);
      if (found.length > filter.limit) break;
    }
    if (found.length > filter.limit) break;
  }
  const jobs = found.slice(0, filter.limit);
  const last = jobs[jobs.length - 1];
  return { jobs, nextCursor: found.length > filter.limit ? encodeListCursor({ createdAt: last.createdAt, id: last.id }) : null };
}

/** Chunks of growing size: the first is the page (+ 1), later ones larger as the filter turns candidates down. */
function chunkSize(filter: CheckedJobFilter, chunk: number): number {
  return Math.min(MAX_CHUNK, (filter.limit + 1) * 2 ** chunk);
}

async function* walkCreated(deps: ListingDeps, filter: CheckedJobFilter): AsyncGenerator<Candidate[]> {
  const { redis, keys } = deps;
  if (!redis.workyardListCreated) redis.defineCommand('workyardListCreated', { numberOfKeys: 1, lua: LIST_CREATED_LUA });
  const key = filter.name === null ? keys.createdAll : keys.createdByName(filter.name);
  const newest = filter.createdBefore === null ? '+inf' : String(Math.ceil(filter.createdBefore) - 1);
  const oldest = filter.createdAfter === null ? '-inf' : String(Math.ceil(filter.createdAfter));
  let position = filter.cursor ? { score: filter.cursor.createdAt, id: filter.cursor.id } : null;
  for (let chunk = 0; ; chunk++) {
    const size = chunkSize(filter, chunk);
    const flat = await redis.workyardListCreated!(key, position?.score ?? 0, position?.id ?? '', newest, oldest, size);
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(flat[i]);
    if (!ids.length) return;
    const names = filter.name === null ? await redis.hmget(keys.index, ...ids) : ids.map(() => filter.name);
    yield ids.flatMap((id, i) => (names[i] ? [{ id, name: names[i]! }] : []));
    if (ids.length < size) return;
    position = { score: Number(flat[flat.length - 1]), id: ids[ids.length - 1] };
  }
}

/** The jobs in the filter's state when they are few, newest first after the cursor; null to walk instead. */
async function fewInState(deps: ListingDeps, filter: CheckedJobFilter): Promise<AsyncIterable<Candidate[]> | null> {
  const state = filter.state;
  if (state === null) return null;
  const { redis, keys } = deps;
  const names = filter.name !== null ? [filter.name] : (await redis.smembers(keys.names)).sort();
  const sizes = redis.pipeline();
  for (const name of names) for (const [kind, key] of structuresOf(deps, name, state)) sizes[kind === 'list' ? 'llen' : kind === 'zset' ? 'zcard' : 'get'](key);
  const total = (await repliesOf(sizes)).reduce((sum: number, n) => sum + Number(n ?? 0), 0);
  if (total > (deps.smallState ?? SMALL_STATE)) return null;

  const candidates: (Candidate & { createdAt: number })[] = [];
  for (const name of names) {
    const lists = await Promise.all(
      structuresOf(deps, name, state).map(([kind, key, ours]) => {
        if (kind === 'count') return BullGroupGate.parkedIds(redis, keys.prefix, name, SMALL_STATE).then((ids) => ids.map(fromBullId));
        const read = kind === 'list' ? redis.lrange(key, 0, -1) : redis.zrange(key, 0, -1);
        return ours ? read : read.then((ids) => ids.map(fromBullId));
      }),
    );
    const ids = [...new Set(lists.flat())];
    if (!ids.length) continue;
    const scores = await redis.zmscore(keys.createdByName(name), ...ids);
    // jobs enqueued before the created-time sets existed: their creation time from BullMQ's hash
    const missing = ids.filter((_, i) => scores[i] === null);
    const stamps = missing.length ? await Promise.all(missing.map((id) => redis.hget(deps.queueFor(name).toKey(toBullId(id)), 'timestamp'))) : [];
    const stampOf = new Map(missing.map((id, i) => [id, stamps[i]]));
    ids.forEach((id, i) => {
      const createdAt = Number(scores[i] ?? stampOf.get(id) ?? Number.NaN);
      if (Number.isFinite(createdAt)) candidates.push({ id, name, createdAt });
    });
  }
  const after = (c: { createdAt: number; id: string }) => !filter.cursor || c.createdAt < filter.cursor.createdAt || (c.createdAt === filter.cursor.createdAt && byteOrder(c.id, filter.cursor.id) < 0);
  const inRange = (c: { createdAt: number }) => (filter.createdAfter === null || c.createdAt >= filter.createdAfter) && (filter.createdBefore === null || c.createdAt < filter.createdBefore);
  const ordered = candidates.filter((c) => after(c) && inRange(c)).sort((a, b) => b.createdAt - a.createdAt || byteOrder(b.id, a.id));
  return (async function* () {
    for (let start = 0, chunk = 0; start < ordered.length; chunk++) {
      const size = chunkSize(filter, chunk);
      yield ordered.slice(start, start + size);
      start += size;
    }
  })();
}

/** Redis orders equal scores by the members' bytes: the walk and the sort agree. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Where BullMQ (and the driver) keep a name's jobs in one state: [kind, key, holds our ids rather than BullMQ's]. */
function structuresOf(deps: ListingDeps, name: string, state: JobState): ['list' | 'zset' | 'count', string, boolean][] {
  const k = deps.queueFor(name).keys;
  switch (state) {
    case 'queued':
      return [['list', k.wait, false], ['list', k.paused, false], ['zset', k.prioritized, false], ['count', groupKeysOf(deps.keys.prefix, name).parkedCount, false]];
    case 'delayed':
      return [['zset', k.delayed, false]];
    case 'active':
      return [['list', k.active, false]];
    case 'completed':
      return [['zset', k.completed, false]];
    case 'failed':
      return [['zset', k.failed, false]];
    case 'cancelled':
      return [['zset', deps.keys.cancelledByName(name), true]];
  }
}
