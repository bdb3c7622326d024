// Benchmark: an images task on a fixture page of 500 distinct 20 KB images, from POST to `done`
// (fetch, parse, robots.txt, guard, download, sha256, blob store, SQL dedupe and links), beside
// plain undici downloading the same 500 images with the same per-host concurrency, in the same
// run, on loopback. Embedded shape: SQLite, SQL queue, disk blobs in a temporary directory.
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { createHarvestModule } from '../src/modules/harvest/index.js';
import { tasksModule } from '../src/modules/tasks/index.js';
import { bytes, html, startFixtureSite } from '../test/support/harvest-fixture-site.js';
import { paddedPng } from '../test/support/png.js';
import { startTestWorkyard } from '../test/support/workyard.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';
import { median } from './lib/median.js';
import { type LeastHarvestLevel, leastHarvest, openLeastHarvestStore } from './lib/least-harvest.js';

// --quick: a fifth of the page, for a check that the benchmark runs rather than for figures.
const IMAGES = quickMode() ? 100 : 500;
const IMAGE_BYTES = 20 * 1024;
const CONCURRENCY = 8;
const DEADLINE_MS = 180_000;

const LEAST_LEVEL_NAMES: Record<LeastHarvestLevel, string> = {
  hash: 'plain undici + sha256 of each body as it arrives',
  pack: 'hashed + every body in one file, fsynced with its directory',
  rows: 'hashed, packed + a SQLite row per image in one transaction',
};

const deadline = setTimeout(() => {
  console.error(`bench:harvest did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

// Each round harvests a page of images never seen before (a page seen before is only linked), so
// the rounds are alike; each is paired with the ceiling measured just before it, and the medians
// are reported, because one round on a shared machine swings by a third.
const ROUNDS = quickMode() ? 1 : 5;
const pathsOf = (round: number) => Array.from({ length: IMAGES }, (_, i) => `/img/${round}/${i}.png`);
const site = await startFixtureSite();
for (let round = 0; round < ROUNDS; round++) {
  const paths = pathsOf(round);
  site.route(`/page-${round}.html`, html(paths.map((p) => `<img src="${p}">`).join('\n')));
  for (const [i, p] of paths.entries()) site.route(p, bytes(paddedPng(`bench-${round}-${i}`, IMAGE_BYTES), 'image/png'));
}
// Workyard's warm-up, as the ceiling has one: a page of other images, so that the rounds measure a
// running service rather than its first task's lazy imports and JIT (the first round took twice as long)
const warmUpPaths = Array.from({ length: 50 }, (_, i) => `/img/warm-up/${i}.png`);
site.route('/page-warm-up.html', html(warmUpPaths.map((p) => `<img src="${p}">`).join('\n')));
for (const [i, p] of warmUpPaths.entries()) site.route(p, bytes(paddedPng(`bench-warm-up-${i}`, IMAGE_BYTES), 'image/png'));
// the ceiling downloads the first round's images every time (plain undici keeps nothing)
const paths = pathsOf(0);

/** The ceiling: the same downloads with plain undici, CONCURRENCY at a time, bodies read in full. */
async function plainUndici(): Promise<number> {
  const agent = new Agent({ connections: CONCURRENCY });
  const started = performance.now();
  let next = 0;
  let received = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < paths.length) {
        const response = await request(`${site.url}${paths[next++]}`, { dispatcher: agent });
        received += (await response.body.arrayBuffer()).byteLength;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  if (received !== IMAGES * IMAGE_BYTES) throw new Error(`plain undici received ${received} bytes`);
  return seconds;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-harvest-'));
const wy = await startTestWorkyard(
  { WORKYARD_HARVEST_ALLOW_PRIVATE: 'true', WORKYARD_DATA_DIR: dataDir, WORKYARD_LOG_LEVEL: 'warn' },
  { modules: [tasksModule, createHarvestModule({ perHostConcurrency: CONCURRENCY })] },
);

/**
 * POST over HTTP, then wait for the job through the queue (no polling load on the event loop the
 * harvest shares), then read the task over HTTP; seconds from the POST to the job's end.
 */
async function harvestPage(round: number | 'warm-up'): Promise<{ seconds: number; task: { status: string; images_count: number; error: string | null } }> {
  const started = performance.now();
  const posted = await fetch(`${wy.baseUrl}/images_tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${site.url}/page-${round}.html` }) });
  const { id } = (await posted.json()) as { id: string };
  await wy.workyard.ctx.queue.waitForFinish(id, DEADLINE_MS);
  const seconds = (performance.now() - started) / 1000;
  const task = (await (await fetch(`${wy.baseUrl}/images_tasks/${id}`)).json()) as { status: string; images_count: number; error: string | null };
  return { seconds, task };
}

/** `--cpu-prof`: the first harvest's CPU profile (the fixture's set-up left out), written beside the data directory. */
async function profiled<T>(work: () => Promise<T>): Promise<T> {
  if (!process.argv.includes('--cpu-prof')) return work();
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    const file = path.join(os.tmpdir(), `harvest-${Date.now()}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    console.log(`CPU profile of the first harvest: ${file}`);
    session.disconnect();
  }
}

try {
  await plainUndici(); // warm-up: JIT and the fixture server, for both sides alike
  const warmUp = await harvestPage('warm-up');
  if (warmUp.task.status !== 'done') throw new Error(`the warm-up harvest ended ${JSON.stringify(warmUp.task)}`);
  const ceilings: number[] = [];
  const harvests: number[] = [];
  const leastStore = openLeastHarvestStore(Database, fs.mkdtempSync(path.join(dataDir, 'least-')));
  const urls = paths.map((p) => `${site.url}${p}`);
  const LEVELS: LeastHarvestLevel[] = ['hash', 'pack', 'rows'];
  const leasts = new Map<LeastHarvestLevel, number[]>(LEVELS.map((level) => [level, []]));
  for (const level of LEVELS) await leastHarvest(urls, CONCURRENCY, level, leastStore); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    ceilings.push(await plainUndici());
    for (const level of LEVELS) leasts.get(level)!.push((await leastHarvest(urls, CONCURRENCY, level, leastStore)) / 1000);
    const fresh = round === 0 ? await profiled(() => harvestPage(round)) : await harvestPage(round);
    if (fresh.task.status !== 'done' || fresh.task.images_count !== IMAGES) throw new Error(`harvest ended ${JSON.stringify(fresh.task)}`);
    harvests.push(fresh.seconds);
  }
  const downloadsBefore = pathsOf(0).reduce((sum, p) => sum + site.hits(p), 0);
  const again = await harvestPage(0);
  const downloadsAgain = pathsOf(0).reduce((sum, p) => sum + site.hits(p), 0) - downloadsBefore;
  if (again.task.images_count !== IMAGES || downloadsAgain !== 0) throw new Error(`the second harvest downloaded ${downloadsAgain} images`);
  leastStore.db.close();
  const ms = (seconds: number[]) => seconds.map((s) => (s * 1000).toFixed(0)).join(', ');
  console.log(`rounds: harvest ${ms(harvests)} ms; plain undici ${ms(ceilings)} ms; least harvest ${LEVELS.map((level) => `${level} ${ms(leasts.get(level)!)}`).join('; ')} ms`);

  const ceilingSeconds = median(ceilings);
  const first = { seconds: median(harvests) };
  const ceilingRate = IMAGES / ceilingSeconds;
  const rate = IMAGES / first.seconds;
  const rows: BenchRow[] = [
    {
      figure: `images task, ${IMAGES} × 20 KB, POST → done (median of ${ROUNDS} pages)`,
      value: rate,
      unit: 'images/s',
      ceiling: { name: `plain undici, ${CONCURRENCY} at a time`, value: ceilingRate },
      ratio: rate / ceilingRate,
      goal: '≥ 0.8 × ceiling',
      met: rate / ceilingRate >= 0.8,
    },
    {
      figure: `time to done, ${IMAGES} images (median of ${ROUNDS} pages)`,
      value: first.seconds * 1000,
      unit: 'ms',
      ceiling: { name: `plain undici, ${CONCURRENCY} at a time`, value: ceilingSeconds * 1000 },
      ratio: first.seconds / ceilingSeconds,
    },
    ...LEVELS.map((level): BenchRow => {
      const levelRate = IMAGES / median(leasts.get(level)!);
      return { figure: `the least harvest, ${LEAST_LEVEL_NAMES[level]} (median of ${ROUNDS})`, value: levelRate, unit: 'images/s', ceiling: { name: `plain undici, ${CONCURRENCY} at a time`, value: ceilingRate }, ratio: levelRate / ceilingRate };
    }),
    {
      figure: 'images task ÷ the least harvest with a row per image (the price of the guard, robots.txt, claims, dedupe and limits)',
      value: rate,
      unit: 'images/s',
      ceiling: { name: 'the least harvest, hashed, packed and recorded', value: IMAGES / median(leasts.get('rows')!) },
      ratio: rate / (IMAGES / median(leasts.get('rows')!)),
    },
    {
      figure: 'same page again (all stored: links only, no download)',
      value: again.seconds * 1000,
      unit: 'ms',
      ceiling: { name: `plain undici, ${CONCURRENCY} at a time`, value: ceilingSeconds * 1000 },
      ratio: again.seconds / ceilingSeconds,
    },
  ];
  recordSection({
    module: 'harvest',
    command: 'npm run bench:harvest',
    notes: [
      `Embedded shape (SQLite, SQL queue, disk blob store with fsync); fixture site and Workyard in one process on loopback; per-host concurrency ${CONCURRENCY} on both sides.`,
      'The harvest figure includes the page fetch, robots.txt, the SSRF guard, parsing, sha256, the blob puts (one per pack of images, each with its fsync) and the SQL dedupe.',
      'Profile (2026-12-06, `npm run bench:harvest -- --cpu-prof`, the first page alone): each image was its own blob — a file, an fsync and a new directory (its 82-byte key was two path levels) — ~0.2 ms of disk store per image on the main thread, and puts of 500 images alone took ~450 ms. Since 2026-12-07 the images whose downloads end together are one blob, a pack (image-packs.ts; one file, one fsync, one rename per pack, each image read back by its range): alternated ×3 in one run, 620–1,165 → 290–420 ms for 500 images.',
      'Then (2026-12-07) a download\'s slot is freed once its bytes are in rather than once they are stored (download-slots.ts: 16 downloads at once, up to 4 images per slot waiting for their pack): alternated ×3, medians 456 / 368 / 412 → 355 / 263 / 365 ms; and each image is hashed while it downloads.',
      'Profile (2026-12-07, a warm page, packs, before the slots): of ~375 ms of main thread, SQL ~65 ms (about 7 completed images per transaction, the digest look-ups), hashing ~34 (each image\'s sha256, and the disk store\'s MD5 and SHA-256 of each pack), the download path ~60 (undici, the guard, robots.txt, timeouts), the fixture site serving ~29 (the ceiling pays that too), the disk store ~38, idle ~50. 0.8 × plain undici leaves ~0.2 ms per image for everything; the downloads alone take about that.',
      'Since the evening of 2026-12-07: the page\'s images are real PNGs (64 × 64, padded to 20 KB with a private chunk) rather than a signature followed by noise, which sent every image down image-size\'s error path (~36 µs each, alternated ×4: rounds ~265–275 → ~250 ms); the blob stores hash bodies of 64 KiB or more (the packs) on a digest thread (31 ms of the main thread a page before); download slots start waiters one by one instead of waking them all.',
      'The least harvest (bench/lib/least-harvest.ts) is the floor under #21\'s guarantees, written by hand: plain undici\'s downloads, each body\'s sha256 as it arrives, then every body in one file fsynced with its directory (one write, two fsyncs: packs written and fsynced while the downloads went on measured slower and far less steady here, 74–179 against 56–110 ms), then a SQLite row per image in one transaction. Nothing else: no guard, robots.txt, claims, look-ups or limits. Its last level divided by plain undici is what the simplest harvester with these guarantees shows against the goal on this machine (0.51 and 0.65 in two runs of 2026-12-07); the images task divided by it is the price of Workyard\'s own machinery.',
      'Downloads on a thread of their own (a prototype, 2026-12-07, not kept): undici on a worker thread fetching, hashing and handing over the 500 images, against plain undici on the main thread, the fixture on the main thread in both: 56–99 ms against 43–94 (5 rounds): no faster. The ceiling is the loopback exchange itself, half of it the fixture serving on the same thread, and the handover adds latency. Each image\'s sha256 on the digest thread instead of as it arrives measured slower too (plain 29–51 ms, hashed as they arrive 36–62, hashed on the thread 44–85): a message each way costs more than hashing 20 KB.',
      'Where the images task\'s time goes now (profile of a warm round; wall ≈ main-thread time, ~92 % busy): the download path (undici, reading, hashing) ~41 ms, SQL ~45 (claims, digest look-ups, completions, links: Kysely and better-sqlite3), the fixture serving ~15, GC ~14, the page\'s parsing ~12, pack puts ~20, the rest in small parts; no cost above 15 %. Removed one at a time (two runs each, 5 rounds): the digest look-ups, the pack writes, robots.txt and pacing, Workyard\'s fetcher (plain undici in its place): none moved the rounds beyond their noise. More images in hand per download (16, 64) made rounds slower before the slots started waiters one by one, and no faster after.',
    ],
    rows,
  });
} finally {
  await wy.close();
  await site.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(deadline);
}
