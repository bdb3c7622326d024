// The Redis client factory: fast-failing command clients, blocking clients that wait, TLS from
// rediss:// URLs, and waiting for the first connection without a listener per caller.
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../errors.js';
import { needService, redisUrl } from '../../../test/support/services.js';
import { closeRedisClient, createRedisClient, firstConnection, pingRedis, redisClientOptions } from './connection.js';

const ok = await needService('redis');

describe('redis client options', () => {
  it('command clients fail fast; blocking clients wait out an outage (BullMQ needs maxRetriesPerRequest: null)', () => {
    expect(redisClientOptions({ dependencyTimeoutMs: 800 }, 'command')).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    expect(redisClientOptions({ dependencyTimeoutMs: 800 }, 'blocking')).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    const retry = redisClientOptions({ dependencyTimeoutMs: 800 }, 'command').retryStrategy!;
    expect([1, 3, 100].map((times) => retry(times))).toEqual([100, 400, 2_000]);
  });

  it('a rediss:// URL selects TLS', () => {
    const client = createRedisClient({ redisUrl: 'rediss://127.0.0.1:1', dependencyTimeoutMs: 100 });
    try {
      expect(client.options.tls).toBeTruthy();
    } finally {
      client.disconnect();
    }
  });

  it('a Redis that does not answer gives a 503 naming redis within the deadline', async () => {
    const client = createRedisClient({ redisUrl: 'redis://127.0.0.1:1', dependencyTimeoutMs: 300 });
    const started = Date.now();
    try {
      await expect(pingRedis(client, 300)).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      client.disconnect();
    }
  });
});

describe.skipIf(!ok)('redis client on the shared Redis', () => {
  it('many callers wait for the first connection with one listener, then commands run', async () => {
    const client = createRedisClient({ redisUrl, dependencyTimeoutMs: 2_000 });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const before = client.listenerCount('ready');
      const waits = Array.from({ length: 1_000 }, () => firstConnection(client));
      expect(client.listenerCount('ready') - before).toBeLessThanOrEqual(1);
      await Promise.all(waits);
      expect(await client.ping()).toBe('PONG');
      await pingRedis(client, 2_000);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await closeRedisClient(client);
    }
  });
});
