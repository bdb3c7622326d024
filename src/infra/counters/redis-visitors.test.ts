import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { closeRedisClient, createRedisClient } from '../redis/connection.js';
import { BUCKET_MS } from './buckets.js';
import { ALL_KEYS } from './contract.js';
import { RedisCounters } from './redis.js';

const redis = await needService('redis');
const DAY = BUCKET_MS.day;

// What the Redis driver keeps to count a range's visitors cheaply (the answers themselves are the
// conformance suite's): one HLL per key merged from the range's settled buckets, kept an hour.
describe.skipIf(!redis)('redis visitors over a range', () => {
  let client: Redis;
  let counters: RedisCounters;
  const prefix = uniqueRedisPrefix('visitors-merged');

  beforeAll(async () => {
    client = createRedisClient({ redisUrl, dependencyTimeoutMs: 10_000 }, { name: 'visitors-merged-test' });
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    counters = new RedisCounters(client, { prefix, timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await counters.close();
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length) await client.del(...keys);
    await closeRedisClient(client);
  });

  const mergedKeys = () => client.keys(`${prefix}:*:v:merged:*`);

  it('merges the settled buckets of a range once per key, for an hour at most, named by those buckets, and drops them on reset', async () => {
    const now = Date.now();
    // from two days back: yesterday's day bucket is not settled in the first minutes after midnight
    for (let day = 2; day <= 6; day++) counters.increment('/merged/', `visitor-${day}`, now - day * DAY);
    counters.increment('/merged/', 'visitor-0', now);
    await counters.flush();
    const range = { from: now - 7 * DAY, to: now, open: true };
    expect((await counters.visitors(['/merged/', ALL_KEYS], range)).get('/merged/')).toBe(6);
    const merged = await mergedKeys();
    expect(merged).toHaveLength(2);
    for (const key of merged) {
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60 * 60_000);
      // today's HLL is not in it: five settled days
      expect(await client.pfcount(key)).toBe(5);
    }
    // asked again: the same keys serve
    await counters.visitors(['/merged/', ALL_KEYS], range);
    expect(await mergedKeys()).toHaveLength(2);
    // another range's settled buckets are other keys
    await counters.visitors(['/merged/'], { from: now - 4.5 * DAY, to: now, open: true });
    expect(await mergedKeys()).toHaveLength(3);
    await counters.reset();
    expect(await mergedKeys()).toHaveLength(0);
  });
});
