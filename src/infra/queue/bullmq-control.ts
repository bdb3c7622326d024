// Operating the BullMQ queue (#18): cancelling running jobs, pausing job names, and the overview of
// GET /queues. bullmq-queue.ts only delegates here.
//
// - A running job is cancelled in Redis at once (bullmq-cancel-active.lua: out of the active list
//   and the stalled set, lock and hash gone, a cancelled copy kept), so readers see it cancelled,
//   stall recovery cannot run it again (also when its worker died) and a late outcome of its
//   worker finds nothing to write. Its worker, in whichever process, hears of it on a pub/sub
//   channel of ours; should the message be lost, the failed renewal of the lock it no longer has
//   tells the worker too (BullMQ's lockRenewalFailed).
// - Pause is BullMQ's own (Queue.pause: the `paused` flag in the queue's meta hash, which every
//   fetch checks, group gate releases included): it survives restarts with Redis.
// - Waits (due → started) of the runs of the last 5 minutes are a sorted set per name, written by
//   the workers in batches (one pipeline per 100 ms at most) and trimmed to the window and to
//   MAX_WAITS entries.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadLua } from '../redis/lua.js';
import { JOB_STATES, type JobCounts, type JobRecord, type JobState, OVERVIEW_WINDOW_MS, type QueueOverview } from './contract.js';
import { CANCELLED_EVENT, type WorkyardRedisKeys, repliesOf, toBullId } from './bullmq-keys.js';
import { groupKeysOf } from './bullmq-groups.js';

const CANCEL_ACTIVE_LUA = loadLua(import.meta.url, 'bullmq-cancel-active.lua');

/** the most waits kept per name: the percentiles are over the last MAX_WAITS runs of the window */
export const MAX_WAITS = 10_000;
/** how many groups' parked jobs the oldest waiting job is looked for among */
const PARKED_GROUPS_LOOKED_AT = 50;

type RedisWithControl = Redis & { workyardCancelActive?(...args: (string | number)[]): Promise<number> };

export class BullControl {
  private waits: { name: string; member: string; startedAt: number }[] = [];
  private flushTimer?: NodeJS.Timeout;
  private subscriber?: Redis;

  constructor(
    private readonly redis: RedisWithControl,
    private readonly keys: WorkyardRedisKeys,
    private readonly retentionMs: number,
    private readonly onError: (error: unknown, message: string) => void,
  ) {}

  private get cancelChannel(): string {
    return `${this.keys.prefix}:_wy:cancel`;
  }

  private waitsKey(name: string): string {
    return `${this.keys.prefix}:_wy:waits:${name}`;
  }

  /** Cancels the job if BullMQ has it active: 1 cancelled, 0 no such job, -1 not active. `record` is the job as read just before. */
  async cancelActive(queue: Queue, record: JobRecord): Promise<number> {
    if (!this.redis.workyardCancelActive) this.redis.defineCommand('workyardCancelActive', { numberOfKeys: 8, lua: CANCEL_ACTIVE_LUA });
    const bullId = toBullId(record.id);
    const jobKey = queue.toKey(bullId);
    const k = queue.keys;
    const outcome = await this.redis.workyardCancelActive!(
      jobKey, k.active, k.stalled, `${jobKey}:lock`, k.events, this.keys.cancelled(record.id), this.keys.cancelledByName(record.name), `${jobKey}:logs`,
      bullId, Date.now(), this.retentionMs, record.id, JSON.stringify(record), CANCELLED_EVENT,
    );
    if (outcome === 1) await this.redis.publish(this.cancelChannel, record.id);
    return outcome;
  }

  /** Hears cancels of running jobs from every process (a connection of its own: a subscriber does nothing else). */
  async listen(subscriber: Redis, onCancel: (id: string) => void): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.cancelChannel) onCancel(id);
    });
    // ioredis subscribes again after a reconnection
    await subscriber.subscribe(this.cancelChannel);
  }

  async wasCancelled(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancelled(id))) === 1;
  }

  /** Notes the wait of a run that starts now; written with the others of the next 100 ms. */
  recordWait(name: string, bullId: string, attempt: number, waitMs: number, startedAt: number): void {
    this.waits.push({ name, member: `${Math.max(0, Math.round(waitMs))}:${bullId}:${attempt}`, startedAt });
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushWaits().catch((error) => this.onError(error, 'recording wait times failed'));
    }, 100);
    this.flushTimer.unref();
  }

  private async flushWaits(): Promise<void> {
    const waits = this.waits;
    this.waits = [];
    if (!waits.length) return;
    // One ZADD of every wait per name, not one per wait: a busy worker starts thousands of runs in
    // 100 ms, and each command built cost this process more than Redis (bench:queue, BullMQ).
    const byName = new Map<string, (string | number)[]>();
    for (const wait of waits) {
      let scoresAndMembers = byName.get(wait.name);
      if (!scoresAndMembers) byName.set(wait.name, (scoresAndMembers = []));
      scoresAndMembers.push(wait.startedAt, wait.member);
    }
    const pipeline = this.redis.pipeline();
    const since = Date.now() - OVERVIEW_WINDOW_MS;
    for (const [name, scoresAndMembers] of byName) {
      const key = this.waitsKey(name);
      // the newest MAX_WAITS at most (in the order they started): the trim below keeps no more
      pipeline.zadd(key, ...scoresAndMembers.slice(-2 * MAX_WAITS));
      pipeline.zremrangebyscore(key, '-inf', since).zremrangebyrank(key, 0, -(MAX_WAITS + 1)).pexpire(key, OVERVIEW_WINDOW_MS);
    }
    await repliesOf(pipeline);
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushWaits().catch(() => {});
  }

  /** The subscriber, for a close that cannot reach Redis. */
  get subscription(): Redis | undefined {
    return this.subscriber;
  }

  /**
   * Per name: its counts (counts()), paused, the oldest queued job (the head of each priority of
   * the prioritized set, the tail of the wait list and of up to 50 groups' parked lists: a dozen
   * reads, the queue's length does not matter), completions of the window (a count on the
   * completed set's scores) and wait percentiles (the waits set, MAX_WAITS entries at most).
   */
  async overview(names: string[], counts: JobCounts, queueFor: (name: string) => Queue): Promise<QueueOverview[]> {
    const now = Date.now();
    const since = now - OVERVIEW_WINDOW_MS;
    const overviews = await Promise.all(
      names.map(async (name): Promise<QueueOverview> => {
        const queue = queueFor(name);
        const [paused, completed, waits, oldestDue] = await Promise.all([
          this.redis.hexists(queue.keys.meta, 'paused'),
          this.redis.zcount(queue.keys.completed, since, '+inf'),
          this.redis.zrangebyscore(this.waitsKey(name), since, '+inf'),
          this.oldestDue(queue, name),
        ]);
        const sorted = waits.map((member) => Number(member.split(':', 1)[0])).sort((a, b) => a - b);
        const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
        return {
          name,
          counts: counts[name] ?? (Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>),
          paused: paused === 1,
          oldestWaitingMs: oldestDue === null ? null : Math.max(0, now - oldestDue),
          waitMs: sorted.length ? { p50: rank(50), p95: rank(95) } : null,
          completionsPerMinute: completed / (OVERVIEW_WINDOW_MS / 60_000),
        };
      }),
    );
    return overviews.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The earliest due time among the jobs first in line of each kind; null when none is queued. */
  private async oldestDue(queue: Queue, name: string): Promise<number | null> {
    const k = queue.keys;
    const groups = groupKeysOf(this.keys.prefix, name);
    const parkedGroups = (await this.redis.srandmember(groups.parkedGroups, PARKED_GROUPS_LOOKED_AT)) as string[];
    const pipeline = this.redis.pipeline().lindex(k.wait, -1);
    // BullMQ's prioritized score: priority * 2^32 + an order of arrival; the head of each priority is its oldest
    for (let priority = 1; priority <= 10; priority++) pipeline.zrangebyscore(k.prioritized, priority * 0x100000000, (priority + 1) * 0x100000000 - 1, 'LIMIT', 0, 1);
    for (const group of parkedGroups) pipeline.lindex(`${groups.base}parked:${group}`, -1);
    const replies = await repliesOf(pipeline);
    const ids = replies.flatMap((reply) => (Array.isArray(reply) ? reply : reply ? [reply] : [])) as string[];
    if (!ids.length) return null;
    const fields = await repliesOf(ids.reduce((p, id) => p.hmget(queue.toKey(id), 'timestamp', 'opts'), this.redis.pipeline()));
    let oldest: number | null = null;
    for (const [timestamp, opts] of fields as [string | null, string | null][]) {
      if (timestamp === null) continue;
      let runAt = Number(timestamp);
      try {
        runAt = (JSON.parse(opts ?? '{}') as { workyard?: { runAt?: number } }).workyard?.runAt ?? runAt;
      } catch {
        // a job without readable options is due since its creation
      }
      if (oldest === null || runAt < oldest) oldest = runAt;
    }
    return oldest;
  }
}
