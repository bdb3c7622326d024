// Benchmark for issue #20's ranged goal: GET /stats/?from=-7d&limit=100 with 1,000,000 paths × 30
// day buckets (goal p99 < 50 ms on Redis and on SQLite), before and after the stats.rollup job has
// built the ranked windows (src/infra/counters/ranked-windows.ts), in one run on the same data:
// the ceiling is what the same request costs when it sums the covering buckets per request.
// The buckets are filled straight into the stores (as the drivers write them); the answers before
// and after the windows are compared, and must be equal.
// `--quick`: 50,000 paths. `--paths N`: another count. `--store redis|sqlite`: that store alone.
import type { Redis } from 'ioredis';
import { createRedisClient } from '../src/infra/redis/connection.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../test/support/services.js';
import type { TestWorkyard } from '../test/support/workyard.js';
import { startStatsWorkyard, unlinkPrefix } from './lib/stats-workyard.js';
import { type LoadResult, load } from './lib/load.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';
import { RANGE_DAYS, fillRedisDays, fillRedisVisitors, fillSqliteDays, fillSqliteVisitors, visitorFill } from './stats-ranges.js';

const QUICK = quickMode();
const pathsArg = process.argv.indexOf('--paths');
const PATHS = pathsArg > 0 ? Number(process.argv[pathsArg + 1]) : QUICK ? 50_000 : 1_000_000;
const storeArg = process.argv.indexOf('--store');
const ONLY = storeArg > 0 ? process.argv[storeArg + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'redis' && ONLY !== 'sqlite') throw new Error(`--store: redis or sqlite, not ${ONLY}`);
const SECONDS = QUICK ? 2 : 5;
const RANGE_URL = '/stats/?from=-7d&limit=100';
const DEADLINE_MS = 3_600_000;

// The fill writes day buckets only (hours would be 24 times the data). A roll-up between 23:05 and
// 00:05 UTC ends the 166-hour window at 23:00, so it starts at 01:00 of a day whose count only hour
// buckets could give it (or ends on a day the buckets sum whole): the windowed and summed answers
// then differ by the bench's data, not the code (seen at 23:46 and 00:05). A run starting from 22:45
// could reach its last roll-up in that hour.
const minuteOfDay = () => new Date().getUTCHours() * 60 + new Date().getUTCMinutes();
const inDataGap = (from: number, to: number) => minuteOfDay() >= from || minuteOfDay() < to;
if (inDataGap(22 * 60 + 45, 5)) {
  console.error('bench:stats-windows: its data (day buckets only) cannot be ranked alike by window and by sum when rolled up from 23:05 to 00:05 UTC; start it before 22:45 or after 00:05');
  process.exit(1);
}

const deadline = setTimeout(() => {
  console.error(`bench:stats-windows did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

const label = (store: string) => `GET ${RANGE_URL}, ${PATHS.toLocaleString('en')} paths × ${RANGE_DAYS} days in ${store}`;

/**
 * The ranked paths of the bench's own data (the /stats/ requests count themselves too, in the
 * current hour), probes left out: the /readyz requests made during the build are counted as well,
 * and a build that takes long enough brings /readyz into the top 100 between the two answers.
 */
async function benchPaths(wy: TestWorkyard): Promise<unknown> {
  const answer = (await (await fetch(`${wy.baseUrl}${RANGE_URL}&exclude=probes`)).json()) as { paths: { path: string }[] };
  return answer.paths.filter((p) => p.path.startsWith('/api/bench/'));
}

async function timed(url: string, connections: number): Promise<LoadResult> {
  await load({ url, duration: 1, connections, workers: 1 });
  const result = await load({ url, duration: SECONDS, connections, workers: 1 });
  if (result.errors || result.non2xx) throw new Error(`${url}: ${result.errors} errors and ${result.non2xx} non-2xx answers`);
  return result;
}

/** Requests one after the other, each timed (a summed range at 1,000,000 paths takes seconds: too few for a load tool's percentiles). */
async function sequential(url: string, n: number): Promise<{ medianMs: number; maxMs: number; requestsPerSecond: number }> {
  const times = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const answer = await fetch(url);
    await answer.arrayBuffer();
    if (answer.status !== 200) throw new Error(`${url}: ${answer.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(n / 2)], maxMs: times[n - 1], requestsPerSecond: n / (times.reduce((a, b) => a + b, 0) / 1000) };
}

/** The slowest of requests made one after the other until `work` settles. */
async function slowestDuring(work: Promise<unknown>, url: string): Promise<number> {
  let done = false;
  void work.finally(() => (done = true)).catch(() => {});
  let slowest = 0;
  while (!done) {
    const started = performance.now();
    const answer = await fetch(url);
    await answer.arrayBuffer();
    slowest = Math.max(slowest, performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return slowest;
}

/** Without windows, with them (one client and ten), the build's time, and a check that both answer alike. */
async function measureStore(store: string, wy: TestWorkyard): Promise<BenchRow[]> {
  const url = `${wy.baseUrl}${RANGE_URL}`;
  const before = await benchPaths(wy);
  const summed = await sequential(url, 3);
  if (inDataGap(23 * 60 + 5, 5)) throw new Error(`${store}: the roll-up would start between 23:05 and 00:05 UTC, where this bench's data cannot be ranked alike by window and by sum (see the top of this file)`);
  const buildStarted = performance.now();
  // while the windows are built, /readyz (which asks the store) one request after the other: the
  // slowest answer is how long the API (SQLite: the process; Redis: the server) stopped for the build
  const building = wy.workyard.ctx.counters.rollUp();
  const stall = slowestDuring(building, `${wy.baseUrl}/readyz`);
  const folded = await building;
  const buildMs = performance.now() - buildStarted;
  const stallMs = await stall;
  if (folded !== 3) throw new Error(`${store}: the roll-up built ${folded} windows, not 3`);
  const after = await benchPaths(wy);
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    const [was, is] = [before, after] as { path: string }[][];
    const differing = was.flatMap((entry, i) => (JSON.stringify(entry) === JSON.stringify(is[i]) ? [] : [`#${i}: summed ${JSON.stringify(entry)}, windowed ${JSON.stringify(is[i])}`]));
    throw new Error(`${store}: the windowed answer differs from the summed one in ${differing.length} of ${was.length} entries; ${differing.slice(0, 5).join('; ')}`);
  }
  const one = await timed(url, 1);
  const ten = await timed(url, 10);
  const p99 = (figure: string, result: LoadResult): BenchRow => ({
    figure: `${figure}: p99`,
    value: result.latencyP99Ms,
    unit: 'ms',
    ceiling: { name: 'the same request summing the buckets, same data, one client: slowest of 3', value: summed.maxMs },
    ratio: result.latencyP99Ms / summed.maxMs,
    goal: 'p99 < 50 ms',
    met: result.latencyP99Ms < 50,
  });
  return [
    { figure: `${label(store)}, summing the buckets (no windows): median of 3`, value: summed.medianMs, unit: 'ms' },
    { figure: `${label(store)}, summing the buckets (no windows): slowest of 3`, value: summed.maxMs, unit: 'ms' },
    { figure: `${store}: stats.rollup building the 24 h, 7 d and 30 d windows`, value: buildMs / 1000, unit: 's' },
    { figure: `${store}: GET /readyz during that build, slowest answer`, value: stallMs, unit: 'ms', goal: 'under a second (the build never holds the store or the process for long)', met: stallMs < 1_000 },
    { figure: `${label(store)}, ranked window, one client: p50`, value: one.latencyP50Ms, unit: 'ms' },
    p99(`${label(store)}, ranked window, one client`, one),
    { figure: `${label(store)}, ranked window, 10 clients: throughput`, value: ten.requestsPerSecond, unit: 'req/s', ceiling: { name: 'summing the buckets, one client, 3 requests', value: summed.requestsPerSecond }, ratio: ten.requestsPerSecond / summed.requestsPerSecond },
    p99(`${label(store)}, ranked window, 10 clients`, ten),
  ];
}

const rows: BenchRow[] = [];
const notes: string[] = [
  `${PATHS.toLocaleString('en')} paths × ${RANGE_DAYS} day buckets, every path every day with counts skewed like real traffic (bench/stats-ranges.ts), filled straight into the stores; the load (autocannon, ${SECONDS} s after a 1 s warm-up) runs in a worker thread, Workyard in this process.`,
  'Without windows, every request sums the buckets that cover the range (Redis ZUNIONSTORE of the day sets, SQL GROUP BY over 7 days of rows): a cost of paths × days. The stats.rollup job (every 10 minutes) keeps the last 22, 166 and 718 hours ranked; a -7d range is then the 166-hour window plus its two edges (under 3 hours each, read from the buckets), merged exactly: the edges\' keys counted in full, the window read from its head only as far as the page needs.',
  'The answers with and without windows are compared in the run (the same ranked paths), and the run fails when they differ.',
];

const VISITED_PATHS = 200;
const ALL_VISITORS_PER_DAY = 20_000;
const visitors = visitorFill(PATHS, VISITED_PATHS, ALL_VISITORS_PER_DAY);
notes.push(
  `Visitors (since 2026-12-05 21:00; the figures before had none): the ${VISITED_PATHS} paths with most requests over the last 7 days get one visitor HLL per day with as many distinct visitors as requests that day (up to 1,001), and each day's all-paths HLL ${ALL_VISITORS_PER_DAY.toLocaleString('en')} visitors — what a page of the range counts (101 unions of a week of HLLs, about 400,000 register rows on SQLite). Both drivers merge each key's settled buckets once (Redis: one HLL kept an hour; SQLite: registers kept in the process) and count that with the open buckets: the first request of the hour pays the merge.`,
);

const redisOk = ONLY !== 'sqlite' && (await needService('redis'));
if (ONLY === 'sqlite') notes.push('Run with --store sqlite: the Redis figures were not measured.');
else if (!redisOk) notes.push('Redis did not answer: the Redis figures were not measured.');
if (redisOk) {
  const prefix = uniqueRedisPrefix('bench-windows');
  const admin: Redis = createRedisClient({ redisUrl, dependencyTimeoutMs: 120_000 }, { kind: 'blocking', name: 'bench-windows-admin' });
  const scaled = await startStatsWorkyard({ WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix });
  try {
    const filled = performance.now();
    await fillRedisDays(admin, prefix, PATHS);
    await fillRedisVisitors(admin, prefix, visitors);
    notes.push(`Redis filled in ${((performance.now() - filled) / 1000).toFixed(0)} s.`);
    rows.push(...(await measureStore('Redis', scaled)));
  } finally {
    await scaled.close();
    await unlinkPrefix(admin, prefix);
    await admin.quit();
  }
}

if (ONLY === 'redis') notes.push('Run with --store redis: the SQLite figures were not measured.');
else {
  const sqlite = await startStatsWorkyard();
  try {
    const filled = performance.now();
    await fillSqliteDays(sqlite, PATHS);
    await fillSqliteVisitors(sqlite, visitors);
    notes.push(`SQLite filled in ${((performance.now() - filled) / 1000).toFixed(0)} s.`);
    rows.push(...(await measureStore('SQLite', sqlite)));
  } finally {
    await sqlite.close();
  }
}

const options = [QUICK ? '--quick' : pathsArg > 0 ? `--paths ${PATHS}` : '', ONLY ? `--store ${ONLY}` : ''].filter(Boolean);
recordSection({ module: 'stats-windows', command: `npm run bench:stats-windows${options.length ? ` -- ${options.join(' ')}` : ''}`, notes, rows });
process.exit(0);
