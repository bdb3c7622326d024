// Opens queues for the conformance suite and the kill test the way Workyard does (openJobQueue),
// each instance with its own connections, closing them with the queue; and the three places a
// queue runs (SQLite, PostgreSQL, Redis), one list for every queue test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KyselyPlugin } from 'kysely';
import type { Config } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/infra/db/database.js';
import { migrateToLatest } from '../../src/infra/db/migrations.js';
import type { FinishHook, JobQueue } from '../../src/infra/queue/contract.js';
import { openJobQueue } from '../../src/infra/queue/open.js';
import { queueMigrations } from '../../src/infra/queue/migrations.js';
import { deleteRedisPrefix } from './redis-keys.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from './services.js';

export type QueueConfig = Pick<Config, 'redisUrl' | 'redisPrefix' | 'databaseUrl' | 'dependencyTimeoutMs' | 'dataDir'>;

type QueueLog = { warn(obj: object, msg: string): void };
const quiet: QueueLog = { warn: () => {} };

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-queue-'));
}

export interface QueueSetup {
  label: 'sql on sqlite' | 'sql on postgres' | 'bullmq';
  /** its service answers; outside CI a setup whose service does not is skipped */
  available: boolean;
  /** a fresh data directory, database or Redis prefix, and how to remove it */
  create(): Promise<{ config: QueueConfig; dispose(): Promise<void> }>;
}

export async function queueSetup(label: QueueSetup['label']): Promise<QueueSetup> {
  const base = { redisPrefix: 'unused', dependencyTimeoutMs: 2_000 };
  if (label === 'sql on sqlite') {
    return {
      label,
      available: true,
      create: async () => {
        const dataDir = tempDataDir();
        return { config: { ...base, dataDir }, dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
      },
    };
  }
  if (label === 'sql on postgres') {
    return {
      label,
      available: await needService('postgres'),
      create: async () => {
        const database = await createTestDatabase();
        return { config: { ...base, dataDir: tempDataDir(), databaseUrl: database.url }, dispose: () => database.drop() };
      },
    };
  }
  return {
    label,
    available: await needService('redis'),
    create: async () => {
      const prefix = uniqueRedisPrefix('queue');
      return { config: { ...base, dataDir: tempDataDir(), redisUrl, redisPrefix: prefix }, dispose: async () => void (await deleteRedisPrefix(redisUrl, prefix)) };
    },
  };
}

/** A queue on `config`, with its own database connection (when SQL), closed together. */
export async function openTestQueue(
  config: QueueConfig,
  tuning: { leaseMs?: number; pollMs?: number; stalledCheckMs?: number; onFinished?: FinishHook } = {},
  log: QueueLog = quiet,
  /** SQL only: a Kysely plugin on the queue's own connection, to watch or hold its statements */
  databasePlugin?: KyselyPlugin,
): Promise<JobQueue> {
  let database: Database | undefined;
  if (!config.redisUrl) {
    database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.dependencyTimeoutMs });
    await migrateToLatest(database, [queueMigrations]);
  }
  const leaseMs = tuning.leaseMs ?? 5_000;
  const queueDatabase = database && databasePlugin ? withPlugin(database, databasePlugin) : database;
  const { queue } = await openJobQueue(config, queueDatabase, log, {
    leaseMs,
    pollMs: tuning.pollMs ?? 100,
    stalledCheckMs: tuning.stalledCheckMs ?? Math.max(200, Math.floor(leaseMs / 2)),
    onFinished: tuning.onFinished,
  });
  const close = queue.close.bind(queue);
  queue.close = async (graceMs?: number) => {
    await close(graceMs);
    await database?.close();
  };
  return queue;
}

/** The same database seen through a plugin: every statement the queue runs passes through it. */
function withPlugin(database: Database, plugin: KyselyPlugin): Database {
  const db = database.db.withPlugin(plugin);
  return { ...database, db, run: (query) => database.run(() => query(db)) };
}
