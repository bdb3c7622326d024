// The queue drivers compute's suites run on, each with what a test needs to imitate the queue
// dropping its finished jobs (retention) and to clean up. Shared by the compute test files only.
import { Redis } from 'ioredis';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import type { TestWorkyard } from '../../../test/support/workyard.js';

export interface DriverUnderTest {
  env: Record<string, string>;
  /** deletes every job the queue holds, as its retention eventually does */
  dropQueuedJobs(wy: TestWorkyard): Promise<void>;
  cleanup(): Promise<void>;
}

export interface Driver {
  name: 'sql-sqlite' | 'sql-postgres' | 'bullmq';
  available: boolean;
  setUp(): Promise<DriverUnderTest>;
}

const dropSqlJobs = async (wy: TestWorkyard) => void (await wy.workyard.ctx.database.db.deleteFrom('wy_jobs').execute());

export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function queueDrivers(): Promise<Driver[]> {
  const postgres = await needService('postgres');
  const redis = await needService('redis');
  return [
    { name: 'sql-sqlite', available: true, setUp: async () => ({ env: {}, dropQueuedJobs: dropSqlJobs, cleanup: async () => {} }) },
    {
      name: 'sql-postgres',
      available: postgres,
      async setUp() {
        const database = await createTestDatabase();
        return { env: { WORKYARD_DATABASE_URL: database.url }, dropQueuedJobs: dropSqlJobs, cleanup: () => database.drop() };
      },
    },
    {
      // the scaled shape: BullMQ on Redis, task records in PostgreSQL
      name: 'bullmq',
      available: postgres && redis,
      async setUp() {
        const database = await createTestDatabase();
        const prefix = uniqueRedisPrefix('compute');
        return {
          env: { WORKYARD_DATABASE_URL: database.url, WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix },
          dropQueuedJobs: () => deleteRedisKeys(redisUrl, prefix),
          async cleanup() {
            await deleteRedisKeys(redisUrl, prefix);
            await database.drop();
          },
        };
      },
    },
  ];
}
