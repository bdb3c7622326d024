// The index sweeper removes what retention left behind: index entries (id → name) and the ids in
// listJobs' created-time sets, of jobs BullMQ removed; only after two sweeps (an entry is written
// just before its job), and never those of a job that is still there.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix } from '../../../test/support/redis-keys.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { WorkyardRedisKeys } from './bullmq-keys.js';
import { IndexSweeper } from './bullmq-index-sweeper.js';

const available = await needService('redis');

describe.skipIf(!available)('BullMQ index sweeper', () => {
  const prefix = uniqueRedisPrefix('sweeper');
  const keys = new WorkyardRedisKeys(prefix);
  let redis: Redis;
  let queue: Queue;

  beforeAll(() => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    queue = new Queue('swept', { connection: redis, prefix });
  });

  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await deleteRedisPrefix(redisUrl, prefix);
  });

  it('drops the index entry and the created-time entries of a job gone for two sweeps, and keeps those of a job still there', async () => {
    await queue.add('swept', null, { jobId: 'kept' });
    for (const id of ['kept', 'gone']) {
      await redis.hset(keys.index, id, 'swept');
      await redis.zadd(keys.createdAll, 1, id);
      await redis.zadd(keys.createdByName('swept'), 1, id);
    }
    const sweeper = new IndexSweeper(redis, keys, () => queue);
    expect(await sweeper.sweep()).toBe(0);
    expect(await redis.zcard(keys.createdAll)).toBe(2);
    expect(await sweeper.sweep()).toBe(1);
    expect(await redis.hkeys(keys.index)).toEqual(['kept']);
    expect(await redis.zrange(keys.createdAll, 0, -1)).toEqual(['kept']);
    expect(await redis.zrange(keys.createdByName('swept'), 0, -1)).toEqual(['kept']);
  });
});
