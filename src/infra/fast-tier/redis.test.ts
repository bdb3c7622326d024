// The fast tier conformance suite on Redis (a private redis-server with an append-only file, as the
// tier requires), and the refusal of a Redis that would forget.
import { describe, expect, it } from 'vitest';
import { startPrivateRedis } from '../../../test/support/redis-server.js';
import { closeRedisClient, createRedisClient } from '../redis/connection.js';
import { fastTierConformance } from './fast-tier.conformance.js';
import { RedisFastTier } from './redis.js';

const openTier = (url: string) => {
  const client = createRedisClient({ redisUrl: url, dependencyTimeoutMs: 5_000 });
  return { client, tier: new RedisFastTier(client, { prefix: 'wy-test', timeoutMs: 5_000 }) };
};

fastTierConformance('Redis with an append-only file', async () => {
  const server = await startPrivateRedis({ appendFsync: 'always' });
  const { client, tier } = openTier(server.url);
  await tier.checkPersistence();
  return {
    tier,
    async close() {
      await closeRedisClient(client);
      await server.stop();
    },
  };
});

describe('Redis tier on a Redis without persistence', () => {
  it('is refused: acknowledged blobs would be lost on a restart', async () => {
    const server = await startPrivateRedis({ appendOnly: false });
    const { client, tier } = openTier(server.url);
    await expect(tier.checkPersistence()).rejects.toThrow(/appendonly no.*WORKYARD_BLOBS_FAST_TIER=sql/);
    await closeRedisClient(client);
    await server.stop();
  });
});
