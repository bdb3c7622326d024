// The queue conformance suite on the BullMQ driver (Redis), each run under its own key prefix.
import { deleteRedisPrefix } from '../../../test/support/redis-keys.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { openTestQueue, tempDataDir } from '../../../test/support/queue-harness.js';
import { describeQueueConformance } from './queue.conformance.js';

const ok = await needService('redis');

describeQueueConformance('bullmq', !ok, async () => {
  const prefix = uniqueRedisPrefix('queue');
  const dataDir = tempDataDir();
  return {
    open: (tuning) => openTestQueue({ dataDir, redisUrl, redisPrefix: prefix, dependencyTimeoutMs: 2_000 }, tuning),
    dispose: async () => void (await deleteRedisPrefix(redisUrl, prefix)),
  };
});
