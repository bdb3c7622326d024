import type { Redis } from 'ioredis';
import { describe } from 'vitest';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { closeRedisClient, createRedisClient } from '../redis/connection.js';
import { countersConformance } from './counters.conformance.js';
import { RedisCounters } from './redis.js';

const redis = await needService('redis');

describe.skipIf(!redis)('redis counters', () => {
  countersConformance(async () => {
    const prefix = uniqueRedisPrefix('counters');
    // Generous deadlines: this suite is about what is counted, not how fast (the machine may be busy).
    const config = { redisUrl, dependencyTimeoutMs: 10_000 };
    const opened: { counters: RedisCounters; client: Redis }[] = [];
    return {
      async open() {
        const client = createRedisClient(config, { name: 'counters-test' });
        // The client fails commands until connected (no offline queue); production tolerates that
        // with retries, a test waits for the connection instead.
        if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
        // windows built and folded 3 keys a slice; ranked reads look up 2 edge keys with their edges,
        // the rest in calls of their own (redis-window-folds.test.ts reads with every key looked up at once)
        const counters = new RedisCounters(client, { prefix, timeoutMs: 10_000, windowSlice: 3, windowLookups: 2 });
        opened.push({ counters, client });
        return counters;
      },
      async cleanup() {
        for (const { counters } of opened) await counters.close();
        const admin = opened[0].client;
        const keys = await admin.keys(`${prefix}:*`);
        if (keys.length) await admin.del(...keys);
        for (const { client } of opened) await closeRedisClient(client);
      },
    };
  });
});
