// Chooses every driver from the configuration, once. Nothing else in Workyard branches on the shape.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { DependencyName } from '../errors.js';
import { settlesWithin } from './deadline.js';
import type { BlobStore } from './blobstore/contract.js';
import { openBlobStore } from './blobstore/index.js';
import { type UploadStore, openUploadStore } from './blobstore/upload-store.js';
import { type Database, openDatabase } from './db/database.js';
import type { MigrationSet } from './db/migrations.js';
import type { JobQueue } from './queue/contract.js';
import { openJobQueue } from './queue/open.js';
import { queueMigrations } from './queue/migrations.js';
import { BUCKET_MS, DEFAULT_RETENTION } from './counters/buckets.js';
import type { Counters } from './counters/contract.js';
import { countersMigrations } from './counters/migrations.js';
import { EmbeddedCounters } from './counters/embedded.js';
import type { FastTier } from './fast-tier/contract.js';
import { fastTierMigrations } from './fast-tier/migrations.js';
import { SqlFastTier } from './fast-tier/sql.js';
import type { EventOutbox } from './events/contract.js';
import { eventsMigrations } from './events/migrations.js';
import { SqlEventOutbox } from './events/sql-outbox.js';
import { recordTaskEvents } from './events/task-events.js';

export interface DependencyCheck {
  name: DependencyName;
  /** resolves when the dependency answers, rejects (within the dependency timeout) when not */
  ping(): Promise<void>;
}

export interface Infra {
  database: Database;
  queue: JobQueue;
  /** request counts per key (the stats module's paths) */
  counters: Counters;
  /** key → bytes: S3 when configured, else local disk under the data dir */
  blobs: BlobStore;
  /** where blobs write-behind keeps acknowledged bytes until they are uploaded to `blobs` */
  fastTier: FastTier;
  /** where resumable (tus) uploads grow until they land in `blobs`: S3 beside the blobs, else the data dir */
  uploads: UploadStore;
  /** events recorded with the changes they report (outbox), for webhooks */
  events: EventOutbox;
  /** what /readyz reports on */
  dependencies: DependencyCheck[];
  /** the driver each role uses, for /readyz and /metrics */
  drivers: Record<string, string>;
}

/** The drivers' own tables, migrated with the modules' on start and by `workyard migrate`. */
export const infraMigrations: MigrationSet[] = [queueMigrations, countersMigrations, fastTierMigrations, eventsMigrations];

export interface InfraOptions {
  /** overrides for tests: a short lease makes stalled-job recovery quick to observe */
  queueLeaseMs?: number;
  queuePollMs?: number;
  /** BullMQ: how often workers look for stalled jobs (default: the lease) */
  queueStalledCheckMs?: number;
  /** how often event consumers look for events other processes recorded (default 250 ms) */
  eventsPollMs?: number;
}

export async function createInfra(config: Config, log: FastifyBaseLogger, options: InfraOptions = {}): Promise<Infra & { close(graceMs?: number): Promise<void> }> {
  const database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.dependencyTimeoutMs });
  const dependencies: DependencyCheck[] = [{ name: database.dependency, ping: () => database.ping() }];
  const drivers: Record<string, string> = { database: database.dialect };
  const events = new SqlEventOutbox(database, log, { pollMs: options.eventsPollMs });

  const { queue, driver: queueDriver } = await openJobQueue(config, database, log, {
    leaseMs: options.queueLeaseMs ?? config.queueLeaseMs,
    pollMs: options.queuePollMs,
    stalledCheckMs: options.queueStalledCheckMs,
    // task.completed / task.failed for every job (infra/events/task-events.ts)
    onFinished: recordTaskEvents(events),
  });
  drivers.queue = queueDriver;
  if (queue.driver === 'bullmq') dependencies.push({ name: 'redis', ping: () => queue.ping() });

  // Counters: one Redis sorted set shared by every API process, else the SQL database.
  const retention = { ...DEFAULT_RETENTION, dayMs: config.stats.retentionDays === undefined ? undefined : config.stats.retentionDays * BUCKET_MS.day };
  let counters: Counters;
  let closeCountersClient = async () => {};
  // Redis drivers (and ioredis) are loaded only when Redis is configured: memory the embedded shape never uses.
  const fastTierOnRedis = (config.blobs.fastTier ?? (config.redisUrl ? 'redis' : 'sql')) === 'redis';
  const redis = config.redisUrl || fastTierOnRedis ? await import('./redis/connection.js') : undefined;
  if (config.redisUrl && redis) {
    const { RedisCounters } = await import('./counters/redis.js');
    const { createRedisClient, closeRedisClient } = redis;
    const client = createRedisClient(config, { name: 'workyard-counters' });
    closeCountersClient = () => closeRedisClient(client);
    counters = new RedisCounters(client, { prefix: config.redisPrefix, timeoutMs: config.dependencyTimeoutMs, log, retention });
    drivers.counters = 'redis';
    if (!dependencies.some((d) => d.name === 'redis')) dependencies.push({ name: 'redis', ping: () => counters.ping() });
  } else {
    counters = new EmbeddedCounters(database, { log, retention });
    drivers.counters = 'embedded';
  }

  const blobs = await openBlobStore(config, log);
  drivers.blobs = blobs.driver;
  const uploads = await openUploadStore(config, log);
  dependencies.push({ name: blobs.driver, ping: () => blobs.ping() });

  // The fast tier: SQL unless Redis is asked for, or configured and nothing is asked for.
  const fastTierClient = fastTierOnRedis && redis ? redis.createRedisClient(config, { name: 'workyard-blobs' }) : undefined;
  const fastTier: FastTier = fastTierClient
    ? new (await import('./fast-tier/redis.js')).RedisFastTier(fastTierClient, { prefix: config.redisPrefix, timeoutMs: config.dependencyTimeoutMs })
    : new SqlFastTier(database);

  return {
    database,
    queue,
    counters,
    blobs,
    fastTier,
    uploads,
    events,
    dependencies,
    drivers,
    async close(graceMs = 10_000) {
      // A dependency that does not answer (PostgreSQL behind a partition holds a pool's end until
      // its statements time out, 30 s) must not hold the shutdown: running jobs get the grace
      // period, every other closing step one dependency deadline past it, then it is left behind.
      // A step that fails is logged and the others still close.
      const deadline = Date.now() + graceMs + config.dependencyTimeoutMs;
      const step = (what: string, work: Promise<unknown>, ms = deadline - Date.now()) =>
        settlesWithin(work.catch((error) => log.warn({ err: error }, `closing ${what} failed`)), ms).then((settled) => {
          if (!settled) log.warn({ what }, 'shutdown: left behind a step that did not finish in time');
        });
      await Promise.all([
        // The server has stopped taking requests: the last increments go out before their store closes.
        step('counters', counters.close().finally(closeCountersClient)),
        step('queue', queue.close(graceMs)),
      ]);
      // After the queue: a job finishing in its grace period may still record an event.
      await step('events', events.close());
      // The fast tier after the queue: upload jobs in their grace period still use it.
      const closeFastTier = fastTierClient && redis?.closeRedisClient(fastTierClient);
      await step('blobs, fast tier and database', Promise.all([blobs.close(), uploads.close(), closeFastTier, database.close()]), Math.max(deadline - Date.now(), config.dependencyTimeoutMs));
    },
  };
}
