// The queue drivers compute's suites run on, each with what a test needs to imitate the queue
// dropping its finished jobs (retention) and to clean up. Shared by the compute test files only.
import { deleteRedisPrefix } from './redis-keys.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from './services.js';
import type { TestWorkyard } from './workyard.js';

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
          dropQueuedJobs: async () => void (await deleteRedisPrefix(redisUrl, prefix)),
          async cleanup() {
            await deleteRedisPrefix(redisUrl, prefix);
            await database.drop();
          },
        };
      },
    },
  ];
}
