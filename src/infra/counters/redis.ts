// The Redis counters driver: one sorted set shared by every API process, plus a key for the total.
// Scores are negative counts, so that Redis's ascending order — lower score first, equal scores
// by member — is exactly "most counted first, ties by key ascending", read by rank in O(log n)
// however many millions of keys there are. Increments gather for a few milliseconds and go out
// as one MULTI (one round trip, and the total never disagrees with the set).
import type { Redis } from 'ioredis';
import { callDependency } from '../dependency-errors.js';
import type { CounterPage, Counters } from './contract.js';
import { type CountersBufferOptions, WriteBehindBuffer, writeInChunks } from './write-behind-buffer.js';

export interface RedisCountersOptions extends CountersBufferOptions {
  /** every key starts with it (WORKYARD_REDIS_PREFIX) */
  prefix: string;
  /** reads answer 503 after this long */
  timeoutMs: number;
}

export class RedisCounters implements Counters {
  readonly driver = 'redis' as const;
  /** the hash tag keeps both keys in one slot, so a MULTI over them also works on Redis Cluster */
  private readonly countsKey: string;
  private readonly totalKey: string;
  private readonly buffer: WriteBehindBuffer;

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
  }

  increment(key: string): void {
    this.buffer.add(key);
  }

  async top(options: { limit: number; offset: number }): Promise<CounterPage> {
    return callDependency('redis', this.options.timeoutMs, async () => {
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
    return this.buffer.exclusive(async () => {
      this.buffer.clear();
      // UNLINK frees a set of millions of members in the background instead of blocking Redis.
      await callDependency('redis', this.options.timeoutMs, async () => void throwFirstError(await this.redis.multi().unlink(this.countsKey, this.totalKey).exec()));
    });
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  ping(): Promise<void> {
    return callDependency('redis', this.options.timeoutMs, async () => void (await this.redis.ping()));
  }

  close(): Promise<void> {
    return this.buffer.close();
  }
}

/** MULTI and pipelines report errors per command instead of rejecting. */
function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('redis discarded the transaction');
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value);
}
