// One measured run of bench:queue-tracing, in a process of its own: tracing starts (or not, as the
// OTEL_* environment the parent gave says) before the queue and its drivers are imported, as
// main.ts does it, so pg and ioredis are instrumented as in production.
//   tsx bench/lib/queue-tracing-run.ts sqlite|postgres|bullmq JOBS     prints `RESULT {json}` last
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { activeTracing, startTracing } from '../../src/infra/telemetry/index.js';

const [target, jobsText] = process.argv.slice(2);
const JOBS = Number(jobsText);
const BULK = 1_000;
const CONCURRENCY = target === 'bullmq' ? 100 : 500;

const tracing = await startTracing(loadConfig().tracing);
const { openDatabase } = await import('../../src/infra/db/database.js');
const { migrateToLatest } = await import('../../src/infra/db/migrations.js');
const { queueMigrations } = await import('../../src/infra/queue/migrations.js');
const { openJobQueue } = await import('../../src/infra/queue/open.js');

const log = { warn: (_obj: object, msg: string) => console.error(msg) };
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-tracing-'));
const databaseUrl = target === 'postgres' ? process.env.BENCH_DATABASE_URL : undefined;
const database = target === 'bullmq' ? undefined : openDatabase({ url: databaseUrl, dataDir, timeoutMs: 30_000, poolSize: 10 });
if (database) await migrateToLatest(database, [queueMigrations]);
const { queue } = await openJobQueue(
  { databaseUrl, redisUrl: target === 'bullmq' ? process.env.BENCH_REDIS_URL : undefined, redisPrefix: process.env.BENCH_REDIS_PREFIX ?? 'unused', dependencyTimeoutMs: 30_000 },
  database,
  log,
);

// Each job is asked for by a request of its own (a span, as an HTTP request's), and the jobs are
// enqueued in bulk as the feedback module's group commit does (withJobTrace): with tracing on,
// every job carries its request's trace context, and a sampler decides per request.
const active = activeTracing();
const { withJobTrace } = await import('../../src/infra/queue/job-trace.js');
const jobsOf = (jobName: string, from: number, size: number) =>
  Array.from({ length: size }, (_, k) => ({
    name: jobName,
    data: { n: from + k },
    options: active ? active.tracer.startActiveSpan('bench request', (span) => (span.end(), withJobTrace({}))) : {},
  }));

// A warm-up, not measured: what is loaded or compiled on first use (the exporter, its HTTP
// client, the optimised code of the hot path) would otherwise be counted against the jobs.
const WARM_UP = 2_000;
let warmedUp = 0;
queue.process('bench-tracing-warm-up', async () => void warmedUp++, { concurrency: CONCURRENCY });
await queue.startWorkers();
for (let i = 0; i < WARM_UP; i += BULK) await queue.enqueueBulk(jobsOf('bench-tracing-warm-up', i, BULK));
while (warmedUp < WARM_UP || ((await queue.counts())['bench-tracing-warm-up']?.completed ?? 0) < WARM_UP) await new Promise((resolve) => setTimeout(resolve, 20));
await new Promise((resolve) => setTimeout(resolve, 200));

const name = 'bench-tracing';
const enqueueStarted = performance.now();
for (let i = 0; i < JOBS; i += BULK) {
  const size = Math.min(BULK, JOBS - i);
  await queue.enqueueBulk(jobsOf(name, i, size));
}
const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;

let handled = 0;
const cpu = process.cpuUsage();
const started = performance.now();
// Workers are running (the warm-up's): this name's starts taking jobs at once.
queue.process(name, async () => void handled++, { concurrency: CONCURRENCY });
// Processing ends when the last outcome is recorded, as in bench:queue.
while (handled < JOBS || ((await queue.counts())[name]?.completed ?? 0) < JOBS) await new Promise((resolve) => setTimeout(resolve, 20));
const processSeconds = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);

await queue.close(1_000);
await database?.close();
await tracing?.shutdown().catch((error: unknown) => console.error(`exporting the last spans failed: ${String(error)}`));
fs.rmSync(dataDir, { recursive: true, force: true });
console.log(`RESULT ${JSON.stringify({ enqueuePerSecond: JOBS / enqueueSeconds, processPerSecond: JOBS / processSeconds, cpuMicrosPerJob: (used.user + used.system) / JOBS })}`);
process.exit(0);
