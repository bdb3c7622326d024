// The Redis counters driver: one sorted set shared by every API process, plus a key for the total.
// Scores are negative counts, so that Redis's ascending order — lower score first, equal scores
// by member — is exactly "most counted first, ties by key ascending", read by rank in O(log n)
// however many millions of keys there are. Increments gather for a few milliseconds and go out
// as one MULTI (one round trip, and the total never disagrees with the set).
import type { Redis } from 'ioredis';
import { callDependency } from '../dependency-errors.js';
import { bucketEntryKey, splitBatch, withoutExpired } from './bucket-batch.js';
import { type BucketRetention, type BucketUnit, DEFAULT_RETENTION, bucketStart, seriesStarts } from './buckets.js';
import { ALL_KEYS, type BucketRow, type CounterPage, type Counters, type SeriesPoint, type TimeRange } from './contract.js';
import { windowsKept } from './ranked-windows.js';
import { RedisBuckets, throwFirstError } from './redis-buckets.js';
import { type CountersBufferOptions, WriteBehindBuffer, writeInChunks } from './write-behind-buffer.js';

export interface RedisCountersOptions extends CountersBufferOptions {
  retention?: BucketRetention;
  /** every key starts with it (WORKYARD_REDIS_PREFIX) */
  prefix: string;
  /** reads answer 503 after this long */
  timeoutMs: number;
  /** edge keys a ranked read looks up in the window in its edges' call; past it, in chunks of their own (tests make it small) */
  windowLookups?: number;
}

export class RedisCounters implements Counters {
  readonly driver = 'redis' as const;
  /** the hash tag keeps both keys in one slot, so a MULTI over them also works on Redis Cluster */
  private readonly countsKey: string;
  private readonly totalKey: string;
  private readonly buffer: WriteBehindBuffer;
  private readonly buckets: RedisBuckets;
  private readonly bucketBuffer: WriteBehindBuffer;
  private readonly retention: BucketRetention;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisCountersOptions,
  ) {
    this.countsKey = `${options.prefix}:{counters}:counts`;
    this.totalKey = `${options.prefix}:{counters}:total`;
    this.buffer = new WriteBehindBuffer({
      flushDelayMs: options.flushDelayMs ?? 5,
      log: options.log,
      // 5,000 keys a MULTI: a huge one would hold Redis for everyone. No deadline on writes: one
      // abandoned by a deadline could still be applied, and its retry would count twice. With the
      // offline queue off, a lost connection fails them at once.
      write: (batch) =>
        writeInChunks(batch, options.chunkKeys ?? 5_000, async (chunk) => {
          const multi = this.redis.multi();
          let sum = 0;
          for (const [key, count] of chunk) {
            multi.zincrby(this.countsKey, -count, key);
            sum += count;
          }
          multi.incrby(this.totalKey, sum);
          throwFirstError(await multi.exec());
        }),
    });
    const retention = options.retention ?? DEFAULT_RETENTION;
    this.retention = retention;
    this.buckets = new RedisBuckets(redis, `${options.prefix}:{counters}`, retention, options.windowSlice, options.windowSlice, options.windowLookups);
    // Buckets go in MULTIs of their own: counts, totals and PFADDs of a chunk apply together or not at all.
    this.bucketBuffer = new WriteBehindBuffer({
      flushDelayMs: options.flushDelayMs ?? 5,
      log: options.log,
      boundKeys: false,
      write: (batch) =>
        writeInChunks(batch, options.chunkKeys ?? 5_000, async (chunk) => {
          const multi = this.redis.multi();
          this.buckets.write(multi, withoutExpired(splitBatch(chunk), retention, Date.now()));
          throwFirstError(await multi.exec());
        }),
    });
  }

  increment(key: string, visitor = '', at = Date.now(), bot = false): void {
    this.buffer.add(key);
    this.bucketBuffer.add(bucketEntryKey(key, visitor, at, bot));
  }

  async series(options: { key?: string; unit: BucketUnit; range: TimeRange }): Promise<SeriesPoint[]> {
    const { unit } = options;
    // a series starts with the bucket the range's start falls in
    const range = { from: bucketStart(options.range.from, unit), to: options.range.to };
    return callDependency('redis', this.options.timeoutMs, async () => {
      await this.bucketBuffer.flush();
      const [counts, visitors] = await Promise.all([this.buckets.counts(unit, range, options.key), this.buckets.visitorsPerBucket(unit, range, options.key ?? ALL_KEYS)]);
      return seriesStarts(unit, range.from, range.to).map((start) => ({ start, count: counts.get(start) ?? 0, unique_visitors: visitors.get(start) ?? 0 }));
    });
  }

  exportPage(options: { unit: BucketUnit; range: TimeRange; cursor?: string; limit: number }): Promise<{ rows: BucketRow[]; cursor: string | null }> {
    return callDependency('redis', this.options.timeoutMs, async () => {
      await this.bucketBuffer.flush();
      return this.buckets.exportPage(options.unit, options.range, options.cursor, options.limit);
    });
  }

  visitors(keys: string[], range?: TimeRange): Promise<Map<string, number>> {
    return callDependency('redis', this.options.timeoutMs, async () => {
      await this.bucketBuffer.flush();
      return this.buckets.visitors(keys, range);
    });
  }

  unionVisitors(groups: string[][], range?: TimeRange): Promise<number[]> {
    return callDependency('redis', this.options.timeoutMs, async () => {
      await this.bucketBuffer.flush();
      return this.buckets.unionVisitors(groups, range);
    });
  }

  async rollUp(now = Date.now()): Promise<number> {
    await this.bucketBuffer.flush();
    // a job's work, as long as a build's slices take: bounded by the job, not by a request's deadline
    return this.buckets.rollUp(windowsKept(this.retention.dayMs), now);
  }

  /** Nothing to do: every bucket key expires by itself when its retention ends (redis-buckets.ts). */
  async prune(): Promise<number> {
    return 0;
  }

  daySalt(day: string, now = Date.now()): Promise<string> {
    return callDependency('redis', this.options.timeoutMs, () => this.buckets.daySalt(day, now));
  }

  async top(options: { limit: number; offset: number; range?: TimeRange; bots?: boolean }): Promise<CounterPage> {
    return callDependency('redis', this.options.timeoutMs, async () => {
      if (options.range) {
        await this.bucketBuffer.flush();
        return this.buckets.top(options.limit, options.offset, options.range, options.bots);
      }
      await this.buffer.flush();
      const results = await this.redis
        .pipeline()
        .zrange(this.countsKey, options.offset, options.offset + options.limit - 1, 'WITHSCORES')
        .zcard(this.countsKey)
        .get(this.totalKey)
        .exec();
      const [range, unique, total] = throwFirstError(results) as [string[], number, string | null];
      const entries = [];
      for (let i = 0; i < range.length; i += 2) entries.push({ key: range[i], count: -Number(range[i + 1]) });
      return { total: Number(total ?? 0), unique: Number(unique), entries };
    });
  }

  reset(): Promise<void> {
    return this.buffer.exclusive(() =>
      this.bucketBuffer.exclusive(async () => {
        this.buffer.clear();
        this.bucketBuffer.clear();
        // UNLINK frees a set of millions of members in the background instead of blocking Redis.
        await callDependency('redis', this.options.timeoutMs, async () => {
          throwFirstError(await this.redis.multi().unlink(this.countsKey, this.totalKey).exec());
          await this.buckets.clear();
        });
      }),
    );
  }

  async flush(): Promise<void> {
    await Promise.all([this.buffer.flush(), this.bucketBuffer.flush()]);
  }

  ping(): Promise<void> {
    return callDependency('redis', this.options.timeoutMs, async () => void (await this.redis.ping()));
  }

  async close(): Promise<void> {
    await Promise.all([this.buffer.close(), this.bucketBuffer.close()]);
  }
}
