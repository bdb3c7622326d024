// The drivers module tests run on, one list for every module: SQLite with the SQL queue (the
// embedded shape), PostgreSQL with the SQL queue, and the scaled pair (BullMQ on Redis, records in
// PostgreSQL). Each setup brings a fresh database and Redis prefix, and removes them.
import { deleteRedisPrefix } from './redis-keys.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from './services.js';
import type { TestWorkyard } from './workyard.js';
import { tablesOf } from './tables.js';

export interface DriverUnderTest {
  /** the WORKYARD_* variables that select these drivers */
  env: Record<string, string>;
  /** deletes every job the queue holds, as its retention eventually does */
  dropQueuedJobs(wy: TestWorkyard): Promise<void>;
  cleanup(): Promise<void>;
}

export interface Driver {
  name: 'sql-sqlite' | 'sql-postgres' | 'bullmq';
  dialect: 'sqlite' | 'postgres';
  queue: 'sql' | 'bullmq';
  /** its services answer; outside CI a setup whose services do not is skipped */
  available: boolean;
  setUp(): Promise<DriverUnderTest>;
}

const dropSqlJobs = async (wy: TestWorkyard) => void (await tablesOf(wy.workyard.ctx.database).deleteFrom('queue_jobs').execute());

export async function driverMatrix(): Promise<Driver[]> {
  const postgres = await needService('postgres');
  const redis = await needService('redis');
  return [
    { name: 'sql-sqlite', dialect: 'sqlite', queue: 'sql', available: true, setUp: async () => ({ env: {}, dropQueuedJobs: dropSqlJobs, cleanup: async () => {} }) },
    {
      name: 'sql-postgres',
      dialect: 'postgres',
      queue: 'sql',
      available: postgres,
      async setUp() {
        const database = await createTestDatabase();
        return { env: { WORKYARD_DATABASE_URL: database.url }, dropQueuedJobs: dropSqlJobs, cleanup: () => database.drop() };
      },
    },
    {
      name: 'bullmq',
      dialect: 'postgres',
      queue: 'bullmq',
      available: postgres && redis,
      async setUp() {
        const database = await createTestDatabase();
        const prefix = uniqueRedisPrefix('drivers');
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
