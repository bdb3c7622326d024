// Benchmark: what OpenTelemetry tracing costs the queue. On each driver (SQL on SQLite, SQL on
// PostgreSQL, BullMQ), the same run as bench:queue — enqueue no-op jobs in bulk, then process them
// with one worker — with tracing off and with tracing on (OTLP/HTTP to a local receiver, pg and
// ioredis instrumented, each batch enqueued inside a span so that every job carries a trace
// context and its run is a span), each in a process of its own (bench/lib/queue-tracing-run.ts).
// Order off, on, on, off; the best of each pair counts. Loopback only, bounded in time.
//   npm run bench:queue-tracing [-- --quick]     BENCH_QUEUE_JOBS=… overrides the job count
import { spawn } from 'node:child_process';
import { NODE_FLAGS } from '../src/node-flags.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteRedisPrefix } from '../test/support/redis-keys.js';
import { startOtlpReceiver } from '../test/support/otlp-receiver.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from '../test/support/services.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';

const quick = quickMode();
const JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? (quick ? 10_000 : 50_000));
const RUN_DEADLINE_MS = (quick ? 120 : 300) * 1000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Measured {
  enqueuePerSecond: number;
  processPerSecond: number;
  cpuMicrosPerJob: number;
}
type Target = 'sqlite' | 'postgres' | 'bullmq';
const LABELS: Record<Target, string> = { sqlite: 'SQL driver on SQLite', postgres: 'SQL driver on PostgreSQL', bullmq: 'BullMQ driver' };

const receiver = await startOtlpReceiver();

/** off; on with every trace sampled (the default); on with one request's trace in ten sampled. */
type Mode = 'off' | 'on' | 'sampled';
const SAMPLED_RATIO = 0.1;

/** One run in a child process; `env` selects the target's engine. */
async function run(target: Target, mode: Mode, env: Record<string, string>): Promise<Measured> {
  const childEnv: Record<string, string | undefined> = { ...process.env, WORKYARD_LOG_LEVEL: 'warn', ...env };
  for (const name of Object.keys(childEnv)) if (name.startsWith('OTEL_')) delete childEnv[name];
  if (mode !== 'off') Object.assign(childEnv, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'workyard-bench' });
  if (mode === 'sampled') Object.assign(childEnv, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(SAMPLED_RATIO) });
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', 'bench/lib/queue-tracing-run.ts', target, String(JOBS)], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  const result = /^RESULT (.*)$/m.exec(output);
  if (code !== 0 || !result) throw new Error(`${target} (tracing ${mode}) failed (exit ${code}):\n${output.slice(-4_000)}`);
  const measured = JSON.parse(result[1]) as Measured;
  console.log(`${LABELS[target]}, tracing ${mode}: processed ${Math.round(measured.processPerSecond)} jobs/s, ${measured.cpuMicrosPerJob.toFixed(1)} µs CPU per job, enqueued ${Math.round(measured.enqueuePerSecond)} jobs/s`);
  return measured;
}

/** A fresh database or Redis prefix for each run, removed after it. */
async function runOn(target: Target, mode: Mode): Promise<Measured> {
  if (target === 'sqlite') return run(target, mode, {});
  if (target === 'postgres') {
    const database = await createTestDatabase();
    return run(target, mode, { BENCH_DATABASE_URL: database.url }).finally(() => database.drop());
  }
  const prefix = uniqueRedisPrefix('bench-tracing');
  return run(target, mode, { BENCH_REDIS_URL: redisUrl, BENCH_REDIS_PREFIX: prefix }).finally(() => deleteRedisPrefix(redisUrl, prefix));
}

const best = (list: Measured[]): Measured => ({
  enqueuePerSecond: Math.max(...list.map((m) => m.enqueuePerSecond)),
  processPerSecond: Math.max(...list.map((m) => m.processPerSecond)),
  cpuMicrosPerJob: Math.min(...list.map((m) => m.cpuMicrosPerJob)),
});

const rows: BenchRow[] = [];
const notes: string[] = [
  `${JOBS} no-op jobs per run, each asked for in a span of its own (a request) and enqueued with enqueueBulk in batches of 1000, then processed by one worker (concurrency 500 on SQL, 100 on BullMQ, as bench:queue);`
  + ' "processed" runs from the worker taking the first job to the last outcome being recorded, after a warm-up of 2000 jobs in the same process.',
  'Tracing on: the OpenTelemetry SDK as `workyard start` starts it (HTTP, pg, ioredis and AWS SDK instrumentations, default batch span processor), exporting OTLP/HTTP JSON to a receiver in this process;'
  + ` each job carries its request's trace context (\`trace\` column, BullMQ job field) and its run is a CONSUMER span. Sampled: OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=${SAMPLED_RATIO}.`,
  'Runs in the order off, on, sampled, sampled, on, off, each in a fresh process and database (or Redis prefix); the best of each pair is shown.',
];
const targets: Target[] = ['sqlite'];
if (await needService('postgres')) targets.push('postgres');
else notes.push('PostgreSQL did not answer: its rows were not measured.');
if (await needService('redis')) targets.push('bullmq');
else notes.push('Redis did not answer: the BullMQ rows were not measured.');

try {
  for (const target of targets) {
    const runs: Record<Mode, Measured[]> = { off: [], on: [], sampled: [] };
    const spansBefore = receiver.spans.length;
    for (const mode of ['off', 'on', 'sampled', 'sampled', 'on', 'off'] as const) runs[mode].push(await runOn(target, mode));
    const [off, on, sampled] = [best(runs.off), best(runs.on), best(runs.sampled)];
    const label = LABELS[target];
    const runSpans = receiver.spans.slice(spansBefore).filter((span) => span.name === 'bench-tracing process').length;
    notes.push(
      `${label}: processed jobs/s of every run: ${(['off', 'on', 'sampled'] as const).map((mode) => `${mode} ${runs[mode].map((m) => Math.round(m.processPerSecond)).join(', ')}`).join('; ')};`
      + ` ${runSpans} job spans received for ${4 * JOBS} traced runs (every one on, about one in ten sampled; the batch span processor drops what exceeds its queue of 2048 under a burst, by design).`,
    );
    const perJob = (what: string, measured: Measured): BenchRow =>
      // Ratio off / on, so that 1 means no overhead.
      ({ figure: `${label}: Node CPU per processed job, ${what}`, value: measured.cpuMicrosPerJob, unit: 'µs', ceiling: { name: 'tracing off', value: off.cpuMicrosPerJob }, ratio: off.cpuMicrosPerJob / measured.cpuMicrosPerJob });
    rows.push(
      { figure: `${label}: processed, tracing off`, value: off.processPerSecond, unit: 'jobs/s' },
      { figure: `${label}: processed, tracing on`, value: on.processPerSecond, unit: 'jobs/s', ceiling: { name: 'tracing off', value: off.processPerSecond }, ratio: on.processPerSecond / off.processPerSecond, goal: '≥ 0.8 × tracing off', met: on.processPerSecond >= 0.8 * off.processPerSecond },
      { figure: `${label}: processed, tracing on, 1 trace in 10 sampled`, value: sampled.processPerSecond, unit: 'jobs/s', ceiling: { name: 'tracing off', value: off.processPerSecond }, ratio: sampled.processPerSecond / off.processPerSecond, goal: '≥ 0.8 × tracing off', met: sampled.processPerSecond >= 0.8 * off.processPerSecond },
      perJob('tracing on', on),
      perJob('1 in 10 sampled', sampled),
    );
  }
} finally {
  await receiver.close();
}

recordSection({ module: 'queue-tracing', command: `npm run bench:queue-tracing${quick ? ' -- --quick' : ''}`, notes, rows });
process.exit(0);
