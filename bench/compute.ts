// Benchmark: compute's /sync/sum, whose answer makes a round trip through the job queue and a
// worker, on both queue drivers, beside a bare Fastify POST measured in the same run.
//  1. Round-trip latency (p50, p99) of /sync/sum with 10 numbers, one request at a time on one
//     connection, and throughput with 32 connections (autocannon), on the SQL queue (embedded,
//     SQLite) and on BullMQ (Redis on 127.0.0.1, task records still in SQLite so that only the
//     queue differs).
//  2. 10,000 concurrent /sync/sum requests waiting for delay_ms 2000: all answered, and the
//     server's event-loop delay (perf_hooks.monitorEventLoopDelay, in the server process) beside
//     the same server's delay while idle.
// Servers run in child processes (bench/compute-server.ts); the load comes from this process.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { NODE_FLAGS } from '../src/node-flags.js';
import { deleteRedisPrefix } from '../test/support/redis-keys.js';
import { needService, redisUrl } from '../test/support/services.js';
import type { ControlMessage, ServerMessage } from './compute-server.js';
import { load } from './lib/load.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';

const QUICK = quickMode();
const LATENCY_SECONDS = QUICK ? 2 : 5;
const THROUGHPUT_SECONDS = QUICK ? 2 : 5;
const WAITING = 10_000;
const WAITING_DELAY_MS = 2_000;
const DEADLINE_MS = QUICK ? 240_000 : 600_000;
const SUM_BODY = JSON.stringify({ numbers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });

const deadline = setTimeout(() => {
  console.error(`bench:compute did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

const serverScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'compute-server.ts');

interface Server {
  url: string;
  send(message: ControlMessage): void;
  next(): Promise<ServerMessage>;
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const child: ChildProcess = fork(serverScript, { execArgv: [...NODE_FLAGS, '--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: ServerMessage[] = [];
  const waiting: ((message: ServerMessage) => void)[] = [];
  child.on('message', (message: ServerMessage) => (waiting.length ? waiting.shift()!(message) : messages.push(message)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the benchmark server exited (${code})`))));
  exited.catch(() => {});
  const next = () => Promise.race([messages.length ? Promise.resolve(messages.shift()!) : new Promise<ServerMessage>((resolve) => waiting.push(resolve)), exited]);
  const first = await next();
  if (!('url' in first)) throw new Error('the benchmark server did not report its address');
  return {
    url: first.url,
    send: (message) => child.send(message),
    next,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send('exit');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function workyardEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    WORKYARD_PORT: '0',
    WORKYARD_HOST: '127.0.0.1',
    // 504s past the sync timeout are logged as errors, one line each; the figures count them instead.
    WORKYARD_LOG_LEVEL: 'fatal',
    WORKYARD_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-compute-')),
    ...extra,
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

/** One request at a time on one kept-alive connection: each latency is a whole round trip. */
async function roundTrips(url: string, pathname: string, expectStatus: number): Promise<{ p50: number; p99: number; count: number }> {
  const client = new Client(url);
  const once = async () => {
    const started = performance.now();
    const res = await client.request({ method: 'POST', path: pathname, headers: { 'content-type': 'application/json' }, body: SUM_BODY });
    await res.body.dump();
    if (res.statusCode !== expectStatus) throw new Error(`${pathname} answered ${res.statusCode}`);
    return performance.now() - started;
  };
  // unmeasured first: the connection, the JIT, prepared statements
  for (let i = 0; i < 100; i++) await once();
  const latencies: number[] = [];
  const until = performance.now() + LATENCY_SECONDS * 1000;
  while (performance.now() < until || latencies.length < 100) latencies.push(await once());
  await client.close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: latencies.length };
}

async function throughput(url: string): Promise<number> {
  const result = await load({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body: SUM_BODY, connections: 32, duration: THROUGHPUT_SECONDS });
  if (result.errors || result.non2xx) throw new Error(`${url}: ${result.errors} errors and ${result.non2xx} non-2xx answers under load`);
  return result.requestsPerSecond;
}

async function loopDelay(server: Server, during: () => Promise<void>) {
  server.send('measure-loop');
  await during();
  server.send('report-loop');
  const message = await server.next();
  if (!('eventLoopDelayMs' in message)) throw new Error('the benchmark server did not report its event-loop delay');
  return message.eventLoopDelayMs;
}

/** 10,000 connections opened first, then 10,000 sums sent within a second. */
async function manyWaiting(server: Server) {
  const clients = Array.from({ length: WAITING }, () => new Client(server.url, { keepAliveTimeout: 120_000, headersTimeout: 120_000, bodyTimeout: 120_000 }));
  // 400 connects at a time stay within the listen backlog (511) even when the server is slow to accept.
  for (let i = 0; i < clients.length; i += 400) {
    await Promise.all(clients.slice(i, i + 400).map(async (client) => (await client.request({ method: 'GET', path: '/healthz' })).body.dump()));
  }
  console.log(`${WAITING} connections open`);
  let answered = 0;
  let correct = 0;
  const statuses: Record<string, number> = {};
  let started = 0;
  const idle = await loopDelay(server, () => new Promise((resolve) => setTimeout(resolve, 2_000)));
  const busy = await loopDelay(server, async () => {
    started = performance.now();
    await Promise.all(clients.map(async (client, i) => {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(i / 1000) * 100));
      try {
        const res = await client.request({ method: 'POST', path: '/sync/sum', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [i, 0.5], delay_ms: WAITING_DELAY_MS }) });
        const body = (await res.body.json()) as { result?: number };
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 200) answered++;
        if (body.result === i + 0.5) correct++;
      } catch (error) {
        statuses[String(error)] = (statuses[String(error)] ?? 0) + 1;
      }
    }));
  });
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((client) => client.close()));
  return { answered, correct, statuses, idle, busy, seconds };
}

const rows: BenchRow[] = [];
const notes: string[] = [
  'Latency: one request at a time on one kept-alive connection (undici), after 100 unmeasured ones; throughput: autocannon, 32 connections.',
  'Every server runs in a process of its own, the load comes from the benchmark process; BullMQ uses the Redis on 127.0.0.1:6379 under a key prefix of its own, task records stay in SQLite.',
];

const bare = await startServer({ BENCH_SERVER: 'bare' });
console.log('bare Fastify POST: round trips, then throughput');
const bareLatency = await roundTrips(bare.url, '/bare', 201);
const bareThroughput = await throughput(`${bare.url}/bare`);
await bare.stop();
rows.push(
  { figure: 'bare Fastify POST round trip p50', value: bareLatency.p50, unit: 'ms' },
  { figure: 'bare Fastify POST round trip p99', value: bareLatency.p99, unit: 'ms' },
  { figure: 'bare Fastify POST throughput', value: bareThroughput, unit: 'req/s' },
);

const redisUp = await needService('redis');
const drivers: { name: string; goalMs: number; env: Record<string, string>; cleanup?: () => Promise<void> }[] = [{ name: 'SQL queue (embedded)', goalMs: 2, env: workyardEnv() }];
if (redisUp) {
  const prefix = `wy-bench-compute-${randomBytes(4).toString('hex')}`;
  drivers.push({ name: 'BullMQ', goalMs: 3, env: workyardEnv({ WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix }), cleanup: async () => void (await deleteRedisPrefix(redisUrl, prefix)) });
} else {
  notes.push('Redis did not answer on 127.0.0.1:6379: the BullMQ figures were not measured in this run.');
}

for (const driver of drivers) {
  const server = await startServer(driver.env);
  try {
    console.log(`/sync/sum on ${driver.name}: round trips, throughput, then ${WAITING} waiting`);
    const latency = await roundTrips(server.url, '/sync/sum', 200);
    const rate = await throughput(`${server.url}/sync/sum`);
    rows.push(
      { figure: `/sync/sum, 10 numbers, ${driver.name}: round trip p50`, value: latency.p50, unit: 'ms', ceiling: { name: 'bare POST p50', value: bareLatency.p50 }, ratio: latency.p50 / bareLatency.p50, goal: `≤ ${driver.goalMs} ms`, met: latency.p50 <= driver.goalMs },
      { figure: `/sync/sum, 10 numbers, ${driver.name}: round trip p99`, value: latency.p99, unit: 'ms', ceiling: { name: 'bare POST p99', value: bareLatency.p99 }, ratio: latency.p99 / bareLatency.p99 },
      { figure: `/sync/sum, 10 numbers, ${driver.name}: throughput`, value: rate, unit: 'req/s', ceiling: { name: 'bare POST', value: bareThroughput }, ratio: rate / bareThroughput },
    );
    const waiting = await manyWaiting(server);
    const label = `${WAITING.toLocaleString('en')} waiting (delay_ms ${WAITING_DELAY_MS}), ${driver.name}`;
    rows.push(
      { figure: `${label}: answered 200 with the right sum`, value: waiting.correct, unit: 'requests', goal: `all ${WAITING}`, met: waiting.correct === WAITING },
      { figure: `${label}: event-loop delay p99`, value: waiting.busy.p99, unit: 'ms', ceiling: { name: 'same server idle, p99', value: waiting.idle.p99 }, ratio: waiting.busy.p99 / waiting.idle.p99, goal: '< 50 ms', met: waiting.busy.p99 < 50 },
      { figure: `${label}: event-loop delay max`, value: waiting.busy.max, unit: 'ms', ceiling: { name: 'same server idle, max', value: waiting.idle.max } },
      { figure: `${label}: all answered after`, value: waiting.seconds, unit: 's' },
    );
    if (waiting.correct !== WAITING) notes.push(`${label}: answers by status ${JSON.stringify(waiting.statuses)}.`);
  } finally {
    await server.stop();
    await driver.cleanup?.();
  }
}

recordSection({ module: 'compute', command: `npm run bench:compute${QUICK ? ' -- --quick' : ''}`, notes, rows });
process.exit(0);
