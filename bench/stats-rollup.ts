// Benchmark for issue #20's roll-up goal: the scheduled work a day of minute buckets of 1,000,000
// paths brings finishes in < 60 s without raising the p99 of counted GET /api/* by more than 10 %.
// Here that work is what the stats jobs do with such a day: stats.rollup folds its 24 hours (and
// today's so far) into the ranked windows (ranked-windows.ts; the 24-hour window, further behind
// than its length, is built afresh), and stats.prune deletes its minute buckets once they are 48 h
// old (on Redis they expire by themselves). Minutes are not rolled into hours: every increment
// writes its minute, hour and day at once (bucket-batch.ts), so no job sums minutes.
// The day (yesterday: each path requested once, at minute i mod 1440) is written straight into the
// stores as the drivers write it; the windows stand folded to yesterday's start, as a job that last
// ran then would have left them. /api/* is loaded at a fixed rate, well below what the process
// serves, by one load running before, while and after the jobs run; the p99 of the requests sent
// while they ran is compared with that of the others, in the same run.
// `--quick`: 100,000 paths. `--paths N`: another count.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Redis } from 'ioredis';
import { BUCKET_MS, bucketStart } from '../src/infra/counters/buckets.js';
import { FOLD_DELAY_MS } from '../src/infra/counters/ranked-windows.js';
import { createRedisClient } from '../src/infra/redis/connection.js';
import { tablesOf } from '../test/support/tables.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../test/support/services.js';
import type { TestWorkyard } from '../test/support/workyard.js';
import { startStatsWorkyard, unlinkPrefix } from './lib/stats-workyard.js';
import { clockNow, latencyQuantile, steadyLoad } from './lib/steady-load.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';

const QUICK = quickMode();
const pathsArg = process.argv.indexOf('--paths');
const PATHS = pathsArg > 0 ? Number(process.argv[pathsArg + 1]) : QUICK ? 100_000 : 1_000_000;
const API_URL_PATH = '/api/product/1/';
/** requests a second on /api/* throughout: a steady load the process serves with room to spare */
const RATE = 1_000;
const CONNECTIONS = 10;
const CHUNK_MS = 3_000;
const WARM_UP_MS = 2_000;
const QUIET_MS = 9_000;
const DAY = BUCKET_MS.day;
const MINUTES_A_DAY = 1_440;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const deadline = setTimeout(() => {
  console.error('bench:stats-rollup did not finish within an hour');
  process.exit(1);
}, 3_600_000);
deadline.unref();

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const yesterday = bucketStart(Date.now(), 'day') - DAY;
const minuteOf = (i: number) => yesterday + (i % MINUTES_A_DAY) * BUCKET_MS.minute;
const pathOf = (i: number) => `/api/rollup/${i}/`;

/** Each path once yesterday: its minute, hour and day, with their totals. */
function bucketsOfTheDay(): Map<string, { unit: 'm' | 'h' | 'd'; start: number; paths: number[] }> {
  const buckets = new Map<string, { unit: 'm' | 'h' | 'd'; start: number; paths: number[] }>();
  const add = (unit: 'm' | 'h' | 'd', start: number, i: number) => {
    const name = `${unit}:${start}`;
    let bucket = buckets.get(name);
    if (!bucket) buckets.set(name, (bucket = { unit, start, paths: [] }));
    bucket.paths.push(i);
  };
  for (let i = 0; i < PATHS; i++) {
    const minute = minuteOf(i);
    add('m', minute, i);
    add('h', bucketStart(minute, 'hour'), i);
    add('d', yesterday, i);
  }
  return buckets;
}

async function fillRedis(client: Redis, prefix: string): Promise<void> {
  for (const bucket of bucketsOfTheDay().values()) {
    for (let from = 0; from < bucket.paths.length; from += 10_000) {
      const args: (string | number)[] = [];
      for (const i of bucket.paths.slice(from, from + 10_000)) args.push(-1, pathOf(i));
      await client.zadd(`${prefix}:{counters}:b:${bucket.unit}:${bucket.start}`, ...args);
    }
    await client.incrby(`${prefix}:{counters}:t:${bucket.unit}:${bucket.start}`, bucket.paths.length);
  }
}

async function fillSqlite(wy: TestWorkyard): Promise<void> {
  const db = tablesOf(wy.workyard.ctx.database);
  await db.transaction().execute(async (trx) => {
    for (const bucket of bucketsOfTheDay().values()) {
      for (let from = 0; from < bucket.paths.length; from += 500) {
        const values = bucket.paths.slice(from, from + 500).map((i) => ({ unit: bucket.unit, start: bucket.start, key: pathOf(i), count: 1 }));
        await trx.insertInto('counters_buckets').values(values).execute();
      }
      await trx.insertInto('counters_bucket_totals').values({ unit: bucket.unit, start: bucket.start, total: bucket.paths.length }).execute();
    }
  });
}

async function measureStore(store: string, wy: TestWorkyard, fill: () => Promise<void>): Promise<BenchRow[]> {
  const counters = wy.workyard.ctx.counters;
  // ready: the store's connection is up (the Redis client queues nothing before)
  for (let tries = 0; (await fetch(`${wy.baseUrl}/readyz`)).status !== 200; tries++) {
    if (tries > 100) throw new Error(`${store}: /readyz did not answer 200 within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // the windows as a job that last ran yesterday at midnight left them (empty: nothing before)
  await counters.rollUp(yesterday + FOLD_DELAY_MS);
  const filled = performance.now();
  await fill();
  const fillS = (performance.now() - filled) / 1000;
  // the fill's garbage (a million paths' arrays and rows) is the benchmark's, not the server's: it
  // is collected here, not by a pause in the middle of the load
  collectGarbage();
  const url = `${wy.baseUrl}${API_URL_PATH}`;
  // one load through the whole run: warm-up, quiet before, the jobs, quiet after
  const steady = steadyLoad({ url, rate: RATE, connections: CONNECTIONS });
  await sleep(WARM_UP_MS);
  const quietFrom = clockNow();
  await sleep(QUIET_MS);
  const started = clockNow();
  const jobs = (async () => {
    const folded = await counters.rollUp();
    // the hourly prune once the day's minutes are 48 h old
    const pruned = await counters.prune(yesterday + 3 * DAY);
    return { folded, pruned };
  })();
  let failed: unknown;
  const { folded, pruned } = await jobs.catch((error) => ((failed = error), { folded: 0, pruned: 0 }));
  const ended = clockNow();
  await sleep(QUIET_MS);
  const quietTo = clockNow();
  const samples = await steady.stop();
  if (failed) throw failed;
  const jobsS = (ended - started) / 1000;
  const notOk = samples.filter((sample) => !sample.ok).length;
  if (notOk) throw new Error(`${store}: ${notOk} failed or non-2xx answers on ${API_URL_PATH}`);
  const before = latencyQuantile(samples, quietFrom, started, 0.99);
  const after = latencyQuantile(samples, ended, quietTo, 0.99);
  const quiet = latencyQuantile(samples.filter((sample) => sample.sentAt < started || sample.sentAt >= ended), quietFrom, quietTo, 0.99);
  const during = latencyQuantile(samples, started, ended, 0.99);
  const windows = (from: number, to: number) => {
    const p99s: string[] = [];
    // whole periods (a last part under half a period joins the one before)
    const periods = Math.max(1, Math.round((to - from) / CHUNK_MS));
    for (let i = 0; i < periods; i++) p99s.push(latencyQuantile(samples, from + i * CHUNK_MS, i === periods - 1 ? to : from + (i + 1) * CHUNK_MS, 0.99).ms.toFixed(1));
    return p99s.join(', ');
  };
  const detail = `p99 before the jobs ${before.ms.toFixed(1)} ms (${before.count} requests), during ${during.ms.toFixed(1)} ms (${during.count}), after ${after.ms.toFixed(1)} ms (${after.count}); per ${CHUNK_MS / 1000} s: before ${windows(quietFrom, started)}; during ${windows(started, ended)}; after ${windows(ended, quietTo)} ms`;
  console.log(`${store}: filled in ${fillS.toFixed(0)} s; jobs ${jobsS.toFixed(1)} s (${folded} hours folded, ${pruned} rows pruned); ${detail}`);
  notes.push(`${store}: ${detail}.`);
  const day = `a day of minute buckets of ${PATHS.toLocaleString('en')} paths in ${store}`;
  return [
    { figure: `${day}: stats.rollup and stats.prune (${folded} window-hours folded or built, ${pruned} rows pruned)`, value: jobsS, unit: 's', goal: '< 60 s', met: jobsS < 60 },
    { figure: `${day}: GET ${API_URL_PATH} at ${RATE} req/s, p99 without the jobs (${QUIET_MS / 1000} s before and after them)`, value: quiet.ms, unit: 'ms' },
    {
      figure: `${day}: GET ${API_URL_PATH} at ${RATE} req/s, p99 while the jobs run`,
      value: during.ms,
      unit: 'ms',
      ceiling: { name: 'the same load without the jobs, same run', value: quiet.ms },
      ratio: during.ms / quiet.ms,
      goal: '≤ 1.10 × without',
      met: during.ms <= quiet.ms * 1.1,
    },
  ];
}

const rows: BenchRow[] = [];
const notes: string[] = [
  `${PATHS.toLocaleString('en')} paths each requested once yesterday (at minute i mod 1440): ${PATHS.toLocaleString('en')} minute-bucket entries over 1,440 minutes, as many over 24 hours and in the day, with totals; the ranked windows folded to yesterday's start. The jobs: one stats.rollup (every hour since then folded into the 7-day and 30-day windows; the 24-hour window, further behind than its length, built afresh), then one stats.prune as it runs once the day's minutes are 48 h old (SQLite: the rows deleted; Redis: minute keys expire by themselves).`,
  `GET ${API_URL_PATH} (counted) at ${RATE} req/s over ${CONNECTIONS} kept-alive connections, one steady load from a worker thread through the whole run (bench/lib/steady-load.ts): ${WARM_UP_MS / 1000} s of warm-up, ${QUIET_MS / 1000} s before the jobs, the jobs, ${QUIET_MS / 1000} s after them. The p99 of the requests sent while the jobs ran is compared with the p99 of those sent before and after (since 2026-12-06 10:30 UTC; before, each 3 s period had a fresh autocannon and the worst period's p99 was compared: 3 periods without the jobs against as many as the jobs lasted, and each cold start weighed on its period's p99).`,
];

if (await needService('redis')) {
  const prefix = uniqueRedisPrefix('bench-rollup');
  const admin: Redis = createRedisClient({ redisUrl, dependencyTimeoutMs: 120_000 }, { kind: 'blocking', name: 'bench-rollup-admin' });
  const scaled = await startStatsWorkyard({ WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix });
  try {
    rows.push(...(await measureStore('Redis', scaled, () => fillRedis(admin, prefix))));
  } finally {
    await scaled.close();
    await unlinkPrefix(admin, prefix);
    await admin.quit();
  }
} else notes.push('Redis did not answer: the Redis figures were not measured.');

const sqlite = await startStatsWorkyard();
try {
  rows.push(...(await measureStore('SQLite', sqlite, () => fillSqlite(sqlite))));
} finally {
  await sqlite.close();
}

recordSection({ module: 'stats-rollup', command: `npm run bench:stats-rollup${QUICK ? ' -- --quick' : pathsArg > 0 ? ` -- --paths ${PATHS}` : ''}`, notes, rows });
process.exit(0);
