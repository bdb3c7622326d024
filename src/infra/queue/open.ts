// Picks the queue driver from the configuration: BullMQ when Redis is configured, else the SQL
// queue on the configured database. infra/index.ts, the worker child of the kill test and the
// queue benchmark all open queues through here, so they cannot drift apart.
import type { Config } from '../../config.js';
import type { Database } from '../db/database.js';
import type { FinishHook, JobQueue } from './contract.js';
import { LocalNotifier, PostgresNotifier } from './notifier.js';
import { SqlJobQueue } from './sql-queue.js';

export interface QueueTuning {
  /** how long a job is its worker's without renewal (SQL lease, BullMQ lockDuration) */
  leaseMs?: number;
  /** SQL: how often idle workers and waiters look at the table */
  pollMs?: number;
  /** BullMQ: how often workers look for stalled jobs (default: the lease) */
  stalledCheckMs?: number;
  /** told of jobs that ended for good (contract FinishHook) */
  onFinished?: FinishHook;
}

export async function openJobQueue(
  config: Pick<Config, 'redisUrl' | 'redisPrefix' | 'databaseUrl' | 'dependencyTimeoutMs'>,
  /** the SQL queue's database; not used (and may be absent) with Redis */
  database: Database | undefined,
  log: { warn(obj: object, msg: string): void },
  tuning: QueueTuning = {},
): Promise<{ queue: JobQueue; driver: string }> {
  if (config.redisUrl) {
    // loaded only in the Redis shape: BullMQ and ioredis are memory the embedded shape never uses
    const { BullmqJobQueue } = await import('./bullmq-queue.js');
    const queue = new BullmqJobQueue({
      redisUrl: config.redisUrl,
      prefix: config.redisPrefix,
      timeoutMs: config.dependencyTimeoutMs,
      leaseMs: tuning.leaseMs,
      stalledCheckMs: tuning.stalledCheckMs,
      log,
      onFinished: tuning.onFinished,
    });
    return { queue, driver: 'bullmq' };
  }
  if (!database) throw new Error('the SQL queue needs a database');
  const notifier = config.databaseUrl ? new PostgresNotifier(config.databaseUrl, database.db) : new LocalNotifier();
  if (notifier instanceof PostgresNotifier) await notifier.start();
  const queue = new SqlJobQueue(database, { notifier, leaseMs: tuning.leaseMs, pollMs: tuning.pollMs, log, onFinished: tuning.onFinished });
  return { queue, driver: `sql-${database.dialect}` };
}
