// The id → name index (and the created-time sets of listJobs) outlive the jobs BullMQ drops after
// the retention period; this sweeps them.
// An entry is written just before its job, so an entry without a job may be one being enqueued:
// only entries found without a job on two sweeps in a row are deleted.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type WorkyardRedisKeys, repliesOf, toBullId } from './bullmq-keys.js';

const SWEEP_EVERY_MS = 10 * 60_000;
const SCAN_COUNT = 1_000;
/** bounds the memory a sweep may hold; the rest waits for the next sweeps */
const MAX_SUSPECTS = 100_000;

export class IndexSweeper {
  private timer?: NodeJS.Timeout;
  private suspects = new Set<string>();
  private sweeping = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: WorkyardRedisKeys,
    private readonly queueFor: (name: string) => Queue,
  ) {}

  start(onError: (error: unknown) => void): void {
    this.timer = setInterval(() => void this.sweep().catch(onError), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass over the index; returns how many entries it deleted. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    const next = new Set<string>();
    let deleted = 0;
    try {
      let cursor = '0';
      do {
        const [nextCursor, flat] = await this.redis.hscan(this.keys.index, cursor, 'COUNT', SCAN_COUNT);
        cursor = nextCursor;
        const pairs: [string, string][] = [];
        for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
        const pipeline = this.redis.pipeline();
        for (const [id, name] of pairs) {
          pipeline.exists(this.queueFor(name).toKey(toBullId(id)), this.keys.cancelled(id));
        }
        const results = (await pipeline.exec()) ?? [];
        const gone: [string, string][] = [];
        pairs.forEach(([id, name], i) => {
          if (Number(results[i]?.[1] ?? 1) > 0) return;
          if (this.suspects.has(id)) gone.push([id, name]);
          else if (next.size < MAX_SUSPECTS) next.add(id);
        });
        if (gone.length) {
          // the created-time sets of listJobs go with the index
          const removal = this.redis.pipeline().hdel(this.keys.index, ...gone.map(([id]) => id)).zrem(this.keys.createdAll, ...gone.map(([id]) => id));
          for (const [id, name] of gone) removal.zrem(this.keys.createdByName(name), id);
          deleted += Number((await repliesOf(removal))[0]);
        }
      } while (cursor !== '0');
      this.suspects = next;
      return deleted;
    } finally {
      this.sweeping = false;
    }
  }
}
