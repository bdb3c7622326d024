// Benchmark: enqueue (in bulk) and process 50,000 no-op jobs on each queue driver — SQL on SQLite,
// SQL on PostgreSQL, the BullMQ driver — and on raw BullMQ (Queue.addBulk + Worker, same job
// options and concurrency) in the same run. Ceilings: raw BullMQ for the BullMQ driver; for the
// SQL driver, the same statements a queue needs (insert, claim, finish; batched) run directly on
// the engine, without the driver around them. Loopback only, bounded in time.
//   npm run bench:queue [-- --quick]     BENCH_QUEUE_JOBS=… overrides the job count
import { Queue, Worker } from 'bullmq';
import cliProgress from 'cli-progress';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrations.js';
import type { JobQueue } from '../src/infra/queue/contract.js';
import { openJobQueue } from '../src/infra/queue/open.js';
import { queueMigrations } from '../src/infra/queue/migrations.js';
import { createRedisClient } from '../src/infra/redis/connection.js';
import { deleteRedisPrefix } from '../test/support/redis-keys.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from '../test/support/services.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';
import { rawSqlCeiling } from './lib/raw-sql-queue.js';

const quick = quickMode();
const JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? (quick ? 10_000 : 50_000));
const BULK = 1_000;
/** jobs of one name a worker runs at once: the same for the BullMQ driver and raw BullMQ */
const SQL_CONCURRENCY = 500;
const BULLMQ_CONCURRENCY = 100;
const DEADLINE_MS = (quick ? 240 : 600) * 1000;
// What the driver sets on a job enqueued without options: one attempt, its backoff, the retention,
// and an explicit priority (the default, 5: the driver prioritizes every job, bullmq-queue.ts).
const JOB_OPTIONS = { attempts: 1, backoff: { type: 'exponential', delay: 1000 }, priority: 5, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } };

const deadline = setTimeout(() => {
  console.error(`bench:queue did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

const bars = new cliProgress.MultiBar(
  { format: ' {bar} {value}/{total} jobs | {target} {phase} | {rate} jobs/s', hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 5_000 },
  cliProgress.Presets.shades_classic,
);

interface Measured {
  enqueuePerSecond: number;
  processPerSecond: number;
  /** CPU time of this process (user + system) per processed job, in µs: less sensitive to a busy machine */
  cpuMicrosPerJob: number;
}

/** Calls `tick` with the number done until `done()` says all are; returns the seconds it took. */
async function track(target: string, phase: string, total: number, progress: () => number | Promise<number>, finished: () => Promise<boolean>): Promise<number> {
  const bar = bars.create(total, 0, { target, phase, rate: 0 });
  const started = performance.now();
  for (;;) {
    const value = await progress();
    const seconds = (performance.now() - started) / 1000;
    bar.update(Math.min(value, total), { rate: Math.round(value / Math.max(seconds, 1e-6)) });
    if (value >= total && (await finished())) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  bar.update(total, { rate: Math.round(total / seconds) });
  bar.stop();
  return seconds;
}

/** Enqueue JOBS no-op jobs in bulk, then run them with one worker; jobs/s of each phase. */
async function measureDriver(target: string, queue: JobQueue, concurrency: number): Promise<Measured> {
  const name = `bench-${target.replace(/[^a-z0-9]+/gi, '-')}`;
  let enqueued = 0;
  const enqueueing = (async () => {
    for (let i = 0; i < JOBS; i += BULK) {
      const size = Math.min(BULK, JOBS - i);
      await queue.enqueueBulk(Array.from({ length: size }, (_, k) => ({ name, data: { n: i + k } })));
      enqueued += size;
    }
  })();
  const enqueueSeconds = await track(target, 'enqueue', JOBS, () => enqueued, async () => (await enqueueing, true));

  let handled = 0;
  queue.process(name, async () => void handled++, { concurrency });
  // Processing ends when the last outcome is recorded, not when the last handler returns.
  const completed = async () => (await queue.counts())[name]?.completed ?? 0;
  const cpu = process.cpuUsage();
  const startWorkers = queue.startWorkers();
  const processSeconds = await track(target, 'process', JOBS, () => handled, async () => (await completed()) >= JOBS);
  await startWorkers;
  return { enqueuePerSecond: JOBS / enqueueSeconds, processPerSecond: JOBS / processSeconds, cpuMicrosPerJob: cpuMicros(cpu) / JOBS };
}

async function openSqlQueue(databaseUrl: string | undefined, dataDir: string): Promise<{ queue: JobQueue; database: Database }> {
  const database = openDatabase({ url: databaseUrl, dataDir, timeoutMs: 30_000, poolSize: 10 });
  await migrateToLatest(database, [queueMigrations]);
  const { queue } = await openJobQueue({ databaseUrl, redisPrefix: 'unused', dependencyTimeoutMs: 30_000 }, database, { warn: (_obj, msg) => bars.log(`${msg}\n`) });
  return { queue, database };
}

async function measureRawBullmq(prefix: string): Promise<Measured> {
  const connection = createRedisClient({ redisUrl, dependencyTimeoutMs: 30_000 }, { kind: 'blocking', name: 'bench-raw' });
  const queue = new Queue('bench-raw', { connection, prefix });
  let enqueued = 0;
  const enqueueing = (async () => {
    for (let i = 0; i < JOBS; i += BULK) {
      const size = Math.min(BULK, JOBS - i);
      await queue.addBulk(Array.from({ length: size }, (_, k) => ({ name: 'bench-raw', data: { n: i + k }, opts: JOB_OPTIONS })));
      enqueued += size;
    }
  })();
  const enqueueSeconds = await track('raw BullMQ', 'enqueue', JOBS, () => enqueued, async () => (await enqueueing, true));
  let handled = 0;
  const cpu = process.cpuUsage();
  const worker = new Worker('bench-raw', async () => void handled++, { connection, prefix, concurrency: BULLMQ_CONCURRENCY });
  const processSeconds = await track('raw BullMQ', 'process', JOBS, () => handled, async () => ((await queue.getJobCounts('completed')).completed ?? 0) >= JOBS);
  const cpuMicrosPerJob = cpuMicros(cpu) / JOBS;
  await worker.close();
  await queue.close();
  connection.disconnect();
  return { enqueuePerSecond: JOBS / enqueueSeconds, processPerSecond: JOBS / processSeconds, cpuMicrosPerJob };
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

const rows: BenchRow[] = [];
const notes: string[] = [
  `${JOBS} no-op jobs per target, enqueued with enqueueBulk (addBulk for raw BullMQ) in batches of ${BULK}, then processed by one worker;`
  + ` "processed" runs from starting the worker to the last outcome being recorded (counts() reports all completed).`,
  `Worker concurrency: ${SQL_CONCURRENCY} for the SQL driver (claims are batched up to the free slots), ${BULLMQ_CONCURRENCY} for the BullMQ driver and for raw BullMQ.`,
  'Raw BullMQ gets the job options the driver sets (attempts, exponential backoff, the default priority, removeOnComplete/removeOnFail by age), so the ratio measures the driver, not a configuration.',
  'Raw SQL ceiling: the same insert, claim (batched UPDATE … RETURNING) and finish statements on one connection, without the driver (bench/lib/raw-sql-queue.ts).',
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-queue-'));

try {
  // SQL on SQLite, and the same statements directly on SQLite.
  {
    const rawSeconds = await rawSqlCeiling({ dataDir: path.join(tmp, 'raw-sqlite'), jobs: JOBS, batch: SQL_CONCURRENCY, log: (line) => bars.log(`${line}\n`) });
    fs.mkdirSync(path.join(tmp, 'sqlite'));
    const { queue, database } = await openSqlQueue(undefined, path.join(tmp, 'sqlite'));
    const measured = await measureDriver('SQL/SQLite', queue, SQL_CONCURRENCY);
    await queue.close(1_000);
    await database.close();
    const ceiling = JOBS / rawSeconds.process;
    rows.push(
      { figure: 'SQL driver on SQLite: enqueued', value: measured.enqueuePerSecond, unit: 'jobs/s', ceiling: { name: 'raw SQLite inserts', value: JOBS / rawSeconds.enqueue }, ratio: measured.enqueuePerSecond / (JOBS / rawSeconds.enqueue) },
      { figure: 'SQL driver on SQLite: processed', value: measured.processPerSecond, unit: 'jobs/s', ceiling: { name: 'raw SQLite claim+finish', value: ceiling }, ratio: measured.processPerSecond / ceiling, goal: '≥ 20,000 jobs/s', met: measured.processPerSecond >= 20_000 },
    );
  }

  // SQL on PostgreSQL, and the same statements directly on PostgreSQL.
  if (await needService('postgres')) {
    const raw = await createTestDatabase();
    const rawSeconds = await rawSqlCeiling({ databaseUrl: raw.url, jobs: JOBS, batch: SQL_CONCURRENCY, log: (line) => bars.log(`${line}\n`) }).finally(() => raw.drop());
    const target = await createTestDatabase();
    try {
      const { queue, database } = await openSqlQueue(target.url, tmp);
      const measured = await measureDriver('SQL/PostgreSQL', queue, SQL_CONCURRENCY);
      await queue.close(1_000);
      await database.close();
      const ceiling = JOBS / rawSeconds.process;
      rows.push(
        { figure: 'SQL driver on PostgreSQL: enqueued', value: measured.enqueuePerSecond, unit: 'jobs/s', ceiling: { name: 'raw PostgreSQL inserts', value: JOBS / rawSeconds.enqueue }, ratio: measured.enqueuePerSecond / (JOBS / rawSeconds.enqueue) },
        { figure: 'SQL driver on PostgreSQL: processed', value: measured.processPerSecond, unit: 'jobs/s', ceiling: { name: 'raw PostgreSQL claim+finish', value: ceiling }, ratio: measured.processPerSecond / ceiling },
      );
    } finally {
      await target.drop();
    }
  } else notes.push('PostgreSQL did not answer: the SQL-on-PostgreSQL rows were not measured.');

  // The BullMQ driver and raw BullMQ, each under a prefix of its own on the same Redis.
  if (await needService('redis')) {
    const prefixes: string[] = [];
    const prefix = (label: string) => {
      prefixes.push(uniqueRedisPrefix(label));
      return prefixes.at(-1)!;
    };
    const driverRun = async () => {
      const { queue } = await openJobQueue({ redisUrl, redisPrefix: prefix('bench-driver'), dependencyTimeoutMs: 30_000 }, undefined, { warn: (_obj, msg) => bars.log(`${msg}\n`) });
      try {
        return await measureDriver('BullMQ driver', queue, BULLMQ_CONCURRENCY);
      } finally {
        await queue.close(1_000);
      }
    };
    try {
      // raw, driver, driver, raw: each gets the machine early and late in the run, and the best of
      // its two runs counts, so a neighbour's burst of work does not decide the ratio.
      const runs = { raw: [await measureRawBullmq(prefix('bench-raw'))], driver: [await driverRun()] };
      runs.driver.push(await driverRun());
      runs.raw.push(await measureRawBullmq(prefix('bench-raw')));
      const best = (list: Measured[]): Measured => ({
        enqueuePerSecond: Math.max(...list.map((m) => m.enqueuePerSecond)),
        processPerSecond: Math.max(...list.map((m) => m.processPerSecond)),
        cpuMicrosPerJob: Math.min(...list.map((m) => m.cpuMicrosPerJob)),
      });
      const raw = best(runs.raw);
      const measured = best(runs.driver);
      notes.push(
        `BullMQ runs in the order raw, driver, driver, raw; the best of each pair is shown. Processed jobs/s of every run: raw ${runs.raw.map((m) => Math.round(m.processPerSecond)).join(', ')}; driver ${runs.driver.map((m) => Math.round(m.processPerSecond)).join(', ')}. On a shared machine wall-clock rates swing run to run; CPU per job (this process) is the steadier comparison.`,
      );
      rows.push(
        { figure: 'BullMQ driver: enqueued', value: measured.enqueuePerSecond, unit: 'jobs/s', ceiling: { name: 'raw BullMQ addBulk', value: raw.enqueuePerSecond }, ratio: measured.enqueuePerSecond / raw.enqueuePerSecond },
        { figure: 'BullMQ driver: processed', value: measured.processPerSecond, unit: 'jobs/s', ceiling: { name: 'raw BullMQ Worker', value: raw.processPerSecond }, ratio: measured.processPerSecond / raw.processPerSecond, goal: '≥ 0.9 × raw BullMQ', met: measured.processPerSecond >= 0.9 * raw.processPerSecond },
        // Ratio raw / driver, so that 1 means no overhead and the goal reads the same way.
        { figure: 'BullMQ driver: Node CPU per processed job', value: measured.cpuMicrosPerJob, unit: 'µs', ceiling: { name: 'raw BullMQ Worker', value: raw.cpuMicrosPerJob }, ratio: raw.cpuMicrosPerJob / measured.cpuMicrosPerJob },
      );
    } finally {
      for (const used of prefixes) await deleteRedisPrefix(redisUrl, used);
    }
  } else notes.push('Redis did not answer: the BullMQ rows were not measured.');
} finally {
  bars.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}

recordSection({ module: 'queue', command: `npm run bench:queue${quick ? ' -- --quick' : ''}`, notes, rows });
clearTimeout(deadline);
process.exit(0);
