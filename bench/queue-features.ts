// Benchmark: what queue I's features cost on each driver (SQL on SQLite, SQL on PostgreSQL,
// BullMQ), measured against plain jobs on the same driver in the same run — no-op jobs with
// mixed priorities, and with 100 groups under a per-group limit — and how close to its due time
// a schedule's job starts. Loopback only, bounded in time.
//   npm run bench:queue-features [-- --quick]     BENCH_QUEUE_FEATURE_JOBS=… overrides the job count
import cliProgress from 'cli-progress';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrations.js';
import type { EnqueueOptions, JobQueue, WorkerOptions } from '../src/infra/queue/contract.js';
import { openJobQueue } from '../src/infra/queue/open.js';
import { queueMigrations } from '../src/infra/queue/migrations.js';
import { dueAtOfJobId } from '../src/infra/queue/schedules/schedule-rules.js';
import { deleteRedisPrefix } from '../test/support/redis-keys.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from '../test/support/services.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';

const quick = quickMode();
const JOBS = Number(process.env.BENCH_QUEUE_FEATURE_JOBS ?? (quick ? 3_000 : 10_000));
const BULK = 1_000;
const GROUPS = 100;
/** per-group limit in the groups variant: the gate is consulted for every job, and sometimes refuses */
const GROUP_CONCURRENCY = 5;
const SCHEDULE_SECONDS = quick ? 8 : 20;
const DEADLINE_MS = (quick ? 300 : 900) * 1000;

const deadline = setTimeout(() => {
  console.error(`bench:queue-features did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

const bars = new cliProgress.MultiBar(
  { format: ' {bar} {value}/{total} | {target} {phase} | {rate}/s', hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 5_000 },
  cliProgress.Presets.shades_classic,
);
const log = { warn: (_obj: object, msg: string) => bars.log(`${msg}\n`) };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Variant = 'plain' | 'priorities' | 'groups';
const VARIANTS: Record<Variant, { options: (i: number) => EnqueueOptions | undefined; worker: WorkerOptions }> = {
  plain: { options: () => undefined, worker: {} },
  priorities: { options: (i) => ({ priority: 1 + ((i * 7) % 10) }), worker: {} },
  groups: { options: (i) => ({ group: `g${i % GROUPS}` }), worker: { groupConcurrency: GROUP_CONCURRENCY } },
};

/** Enqueues JOBS no-op jobs of a variant in bulk, then runs them with one worker: processed jobs/s. */
async function processRate(target: string, queue: JobQueue, variant: Variant, concurrency: number): Promise<number> {
  const name = `bench-${variant}-${Math.random().toString(36).slice(2, 8)}`;
  for (let i = 0; i < JOBS; i += BULK) {
    const size = Math.min(BULK, JOBS - i);
    await queue.enqueueBulk(Array.from({ length: size }, (_, k) => ({ name, data: { n: i + k }, options: VARIANTS[variant].options(i + k) })));
  }
  const bar = bars.create(JOBS, 0, { target, phase: variant, rate: 0 });
  let handled = 0;
  queue.process(name, async () => void handled++, { concurrency, ...VARIANTS[variant].worker });
  const started = performance.now();
  await queue.startWorkers();
  for (;;) {
    const completed = (await queue.counts())[name]?.completed ?? 0;
    const seconds = (performance.now() - started) / 1000;
    bar.update(Math.min(handled, JOBS), { rate: Math.round(handled / Math.max(seconds, 1e-6)) });
    if (completed >= JOBS) break;
    await sleep(50);
  }
  const rate = JOBS / ((performance.now() - started) / 1000);
  bar.update(JOBS, { rate: Math.round(rate) });
  bar.stop();
  return rate;
}

/** A one-second schedule for SCHEDULE_SECONDS: the delays from each job's due time to its start, in ms. */
async function scheduleDelays(target: string, queue: JobQueue): Promise<number[]> {
  const name = `bench-tick-${Math.random().toString(36).slice(2, 8)}`;
  const delays: number[] = [];
  const bar = bars.create(SCHEDULE_SECONDS, 0, { target, phase: 'schedule ticks', rate: 1 });
  // A scheduled job's id carries its due time: the delay is measured from there to the handler.
  queue.process(name, async (job) => {
    delays.push(Date.now() - dueAtOfJobId(job.id)!);
    bar.update(delays.length);
  });
  await queue.startWorkers();
  await queue.schedule(name, { cron: '* * * * * *', job: { name, data: null } });
  await sleep(SCHEDULE_SECONDS * 1000 + 1_500);
  await queue.unschedule(name);
  bar.stop();
  return delays;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const rows: BenchRow[] = [];
const notes: string[] = [
  `${JOBS} no-op jobs per variant, enqueued in bulk (batches of ${BULK}) and then processed by one worker (concurrency 500 on SQL, 100 on BullMQ, as in bench:queue); the variants of one driver run in the same process one after the other, plain first and again last, and the ratio is to the mean of the two plain runs.`,
  `Priorities: each job 1 to 10 in turn. Groups: ${GROUPS} groups, at most ${GROUP_CONCURRENCY} active per group (groupConcurrency), so the gate is consulted for every job.`,
  `Schedule accuracy: a schedule firing every second (six-field cron) for ${SCHEDULE_SECONDS} s, one worker process; the delay is from the due time (carried by the job's id) to the start of its handler.`,
];

async function measure(target: string, open: () => Promise<{ queue: JobQueue; close(): Promise<void> }>, concurrency: number, goalP99Ms: number): Promise<void> {
  const rates: Partial<Record<Variant | 'plain-again', number>> = {};
  for (const variant of ['plain', 'priorities', 'groups', 'plain-again'] as const) {
    const { queue, close } = await open();
    try {
      rates[variant] = await processRate(target, queue, variant === 'plain-again' ? 'plain' : variant, concurrency);
    } finally {
      await close();
    }
  }
  const plain = (rates.plain! + rates['plain-again']!) / 2;
  notes.push(`${target}: plain runs ${Math.round(rates.plain!)} and ${Math.round(rates['plain-again']!)} jobs/s.`);
  for (const variant of ['priorities', 'groups'] as const) {
    const ratio = rates[variant]! / plain;
    rows.push({ figure: `${target}: processed, ${variant === 'priorities' ? 'mixed priorities' : `${GROUPS} groups, limit ${GROUP_CONCURRENCY} each`}`, value: rates[variant]!, unit: 'jobs/s', ceiling: { name: 'plain jobs, same driver', value: plain }, ratio, goal: '≥ 0.8', met: ratio >= 0.8 });
  }
  const { queue, close } = await open();
  try {
    const delays = await scheduleDelays(target, queue);
    const [p50, p99] = [percentile(delays, 50), percentile(delays, 99)];
    rows.push(
      { figure: `${target}: schedule, due to start, p50 (${delays.length} ticks)`, value: p50, unit: 'ms' },
      { figure: `${target}: schedule, due to start, p99 (${delays.length} ticks)`, value: p99, unit: 'ms', goal: `< ${goalP99Ms} ms`, met: p99 < goalP99Ms },
    );
  } finally {
    await close();
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-queue-features-'));

async function openSql(databaseUrl: string | undefined, dataDir: string) {
  const database: Database = openDatabase({ url: databaseUrl, dataDir, timeoutMs: 30_000, poolSize: 10 });
  await migrateToLatest(database, [queueMigrations]);
  const { queue } = await openJobQueue({ databaseUrl, redisPrefix: 'unused', dependencyTimeoutMs: 30_000 }, database, log);
  return {
    queue,
    close: async () => {
      await queue.close(1_000);
      await database.close();
    },
  };
}

try {
  await measure('SQL/SQLite', () => openSql(undefined, tmp), 500, 1_000);

  if (await needService('postgres')) {
    const target = await createTestDatabase();
    try {
      await measure('SQL/PostgreSQL', () => openSql(target.url, tmp), 500, 1_000);
    } finally {
      await target.drop();
    }
  } else notes.push('PostgreSQL did not answer: the SQL-on-PostgreSQL rows were not measured.');

  if (await needService('redis')) {
    const prefix = uniqueRedisPrefix('bench-features');
    try {
      await measure(
        'BullMQ driver',
        async () => {
          const { queue } = await openJobQueue({ redisUrl, redisPrefix: prefix, dependencyTimeoutMs: 30_000 }, undefined, log);
          return { queue, close: () => queue.close(1_000) };
        },
        100,
        250,
      );
    } finally {
      await deleteRedisPrefix(redisUrl, prefix);
    }
  } else notes.push('Redis did not answer: the BullMQ rows were not measured.');
} finally {
  bars.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}

recordSection({ module: 'queue-features', command: `npm run bench:queue-features${quick ? ' -- --quick' : ''}`, notes, rows });
clearTimeout(deadline);
process.exit(0);
