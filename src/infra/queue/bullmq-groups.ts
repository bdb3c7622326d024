// Per-group limits on BullMQ, whose open-source edition has none: a gate of ours in Redis
// (bullmq-groups.lua), one per job name whose workers declare groupConcurrency or groupRate.
// BullMQ fetches jobs in its own order; a grouped job then asks the gate for a slot before its
// handler runs. Refused, it is taken back from the worker (no attempt used) and parked in a list
// of its group, with the next waiting jobs of full groups, so that the jobs behind them are
// fetched at once. A finishing job gives its slot back and releases the oldest parked job of its
// group to the head of the queue, with the slot reserved for it. A slot held by a job is tied to
// BullMQ's lock on it: when a worker dies its lock expires and so does the slot; a timer in every
// worker process then releases what the freed slots (and rate windows that move on) allow.
// The gate's calls of one process are batched: one script call serves every job that asked or
// finished meanwhile, so the gate costs about one round trip per batch, not two per job.
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { firstConnection } from '../redis/connection.js';
import { loadLua } from '../redis/lua.js';
import { TickBatch } from '../tick-batch.js';
import type { GroupLimits } from './group-limits.js';

const GROUPS_LUA = loadLua(import.meta.url, 'bullmq-groups.lua');

/** how many waiting jobs a refusal looks at, to park those of full groups in the same call */
const LOOK_AHEAD = 500;

/** Our keys of one job name's groups (beside WorkyardRedisKeys' `<prefix>:_wy:`). */
export function groupKeysOf(prefix: string, name: string) {
  const base = `${prefix}:_wy:groups:${name}:`;
  return {
    /** what bullmq-groups.lua appends a group's key names to */
    base,
    /** how many jobs of the name are parked (they are queued: counts() adds them) */
    parkedCount: `${base}parked-count`,
    /** the groups that have parked jobs */
    parkedGroups: `${base}parked-groups`,
  };
}

type RedisWithGate = Redis & { workyardGroupGate?(...args: (string | number)[]): Promise<number[]> };

type GateCall = { kind: 'admit'; bullId: string; group: string; token: string } | { kind: 'leave'; bullId: string; group: string };

export class BullGroupGate {
  private readonly keys: ReturnType<typeof groupKeysOf>;
  private sweepTimer?: NodeJS.Timeout;
  private sweepAt = Infinity;
  private stopped = false;
  private readonly calls = new TickBatch<GateCall, boolean>((calls) => this.gate(calls), { maxBatch: 500, maxInFlight: 1 });

  constructor(
    private readonly redis: RedisWithGate,
    private readonly queue: Queue,
    prefix: string,
    private readonly limits: GroupLimits,
    /** how long a released job keeps its slot reserved until a worker fetches it, and the sweep period's bound */
    private readonly leaseMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.keys = groupKeysOf(prefix, queue.name);
  }

  /** Whether the job may run now; if not, it has been taken back from this worker and parked. */
  admit(job: Job, token: string, group: string): Promise<boolean> {
    return this.calls.add({ kind: 'admit', bullId: String(job.id), group, token });
  }

  /** Gives the job's slot back (its run ended) and releases parked jobs of its group. */
  async leave(bullId: string, group: string): Promise<void> {
    await this.calls.add({ kind: 'leave', bullId, group });
  }

  /** Starts the timer that releases parked jobs when slots free without a job of this process finishing. */
  start(): void {
    this.sweepIn(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
  }

  private get sweepPeriodMs(): number {
    return Math.max(100, Math.min(1_000, Math.floor(this.leaseMs / 4)));
  }

  /** The next sweep in `ms` (a rate window's end), or the period when 0; the earliest asked for wins. */
  private sweepIn(ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + (ms > 0 ? Math.min(ms, this.sweepPeriodMs) : this.sweepPeriodMs);
    if (this.sweepTimer && at >= this.sweepAt) return;
    clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(() => void this.sweep(), Math.max(1, at - Date.now()));
    this.sweepTimer.unref();
  }

  private async sweep(): Promise<void> {
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    let rateWaitMs = 0;
    try {
      [rateWaitMs] = await this.call('sweep', []);
    } catch (error) {
      this.onError(error);
    }
    this.sweepIn(rateWaitMs);
  }

  /**
   * Releases every parked job of the name: a worker that declares no limits for it (they were
   * removed from its configuration) must not leave jobs parked by an earlier one behind.
   */
  static async releaseAll(redis: RedisWithGate, queue: Queue, prefix: string, leaseMs: number): Promise<void> {
    await callGate(redis, queue, groupKeysOf(prefix, queue.name), 'sweep', [0, 0, 0, leaseMs, LOOK_AHEAD]);
  }

  /** The newest parked jobs of the name (ids), up to `limit` of each group, for listings. */
  static async parkedIds(redis: Redis, prefix: string, name: string, limit: number): Promise<string[]> {
    const keys = groupKeysOf(prefix, name);
    const groups = await redis.smembers(keys.parkedGroups);
    const lists = await Promise.all(groups.map((group) => redis.lrange(`${keys.base}parked:${group}`, 0, limit - 1)));
    return lists.flat();
  }

  /** Takes a parked job back to BullMQ's delayed set, so that cancel can remove it; whether it was parked. */
  static async unpark(redis: RedisWithGate, queue: Queue, prefix: string, bullId: string, group: string): Promise<boolean> {
    const [unparked] = await callGate(redis, queue, groupKeysOf(prefix, queue.name), 'unpark', [0, 0, 0, 0, 0, bullId, group]);
    return unparked === 1;
  }

  /** One script call for the calls of a batch: the leaving ones first, so their slots serve the others. */
  private async gate(calls: GateCall[]): Promise<boolean[]> {
    const leaving = calls.filter((call) => call.kind === 'leave');
    const asking = calls.filter((call) => call.kind === 'admit');
    const [rateWaitMs, ...admitted] = await this.call('gate', [
      leaving.length,
      ...leaving.flatMap((call) => [call.bullId, call.group]),
      ...asking.flatMap((call) => [call.bullId, call.group, call.token]),
    ]);
    if (rateWaitMs > 0 || admitted.includes(0)) this.sweepIn(rateWaitMs);
    let next = 0;
    return calls.map((call) => call.kind === 'leave' || admitted[next++] === 1);
  }

  private call(command: 'gate' | 'sweep', args: (string | number)[]): Promise<number[]> {
    const { concurrency, rate } = this.limits;
    return callGate(this.redis, this.queue, this.keys, command, [concurrency ?? 0, rate?.max ?? 0, rate?.windowMs ?? 0, this.leaseMs, LOOK_AHEAD, ...args]);
  }
}

async function callGate(redis: RedisWithGate, queue: Queue, keys: ReturnType<typeof groupKeysOf>, command: string, args: (string | number)[]): Promise<number[]> {
  // The command connection has no offline queue: a worker may ask before it is first ready.
  await firstConnection(redis);
  // ioredis sends the script's text once, then its SHA.
  if (!redis.workyardGroupGate) redis.defineCommand('workyardGroupGate', { numberOfKeys: 9, lua: GROUPS_LUA });
  const k = queue.keys;
  return redis.workyardGroupGate!(k.wait, k.prioritized, k.active, k.events, k.marker, k.stalled, keys.parkedCount, keys.parkedGroups, k.delayed, command, queue.toKey(''), keys.base, ...args);
}
