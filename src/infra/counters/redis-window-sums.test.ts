import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { sumWindowOffThread } from './redis-window-sums.js';

const redis = await needService('redis');

// The sums themselves are the conformance suite's (a window built afresh answers as the buckets
// do); here, what the thread adds: its own connection, slices, the key's expiry, and failures.
describe.skipIf(!redis)('a window build summed on a thread', () => {
  let client: Redis;
  const prefix = uniqueRedisPrefix('window-sums');

  beforeAll(() => {
    client = new Redis(redisUrl);
  });

  afterAll(async () => {
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length) await client.del(...keys);
    client.disconnect();
  });

  it('sums the sets a slice at a time into the build key, which expires unless swapped in', async () => {
    // scores are negative counts; 25 keys over slices of 10 on the thread's side, 5 keys in both sets
    const first = Array.from({ length: 25 }, (_, i) => [-(i + 1), `/path/${i}`]).flat();
    const second = Array.from({ length: 5 }, (_, i) => [-100, `/path/${i}`]).flat();
    await client.zadd(`${prefix}:a`, ...first);
    await client.zadd(`${prefix}:b`, ...second);
    const building = `${prefix}:building`;
    const keys = await sumWindowOffThread(client, { sets: [`${prefix}:a`, `${prefix}:b`, `${prefix}:missing`], slice: 10, building, ttlMs: 60_000 });
    expect(keys).toBe(25);
    const flat = await client.zrange(building, 0, -1, 'WITHSCORES');
    const sums = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) sums.set(flat[i], Number(flat[i + 1]));
    expect(sums.size).toBe(25);
    for (let i = 0; i < 25; i++) expect(sums.get(`/path/${i}`)).toBe(-(i + 1) - (i < 5 ? 100 : 0));
    const ttl = await client.pttl(building);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await sumWindowOffThread(client, { sets: [`${prefix}:none`], slice: 10, building: `${prefix}:empty`, ttlMs: 60_000 })).toBe(0);
    expect(await client.exists(`${prefix}:empty`)).toBe(0);
  });

  it("fails, naming Redis's error, when the thread cannot reach the server", async () => {
    const port = await freePort();
    const unreachable = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    const started = Date.now();
    await expect(sumWindowOffThread(unreachable, { sets: ['x'], slice: 10, building: 'y', ttlMs: 1_000 })).rejects.toThrow(/window build: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5_000);
    unreachable.disconnect();
  });
});
