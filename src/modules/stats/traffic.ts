// Test traffic: n real GET requests to /api/… of a running Workyard. Each path is /api/ and 1 to 6
// segments, each drawn from a pool of 3 random strings made for the run. Requests go out over a
// fixed number of keep-alive connections, each carrying one request at a time, so a run of any n
// holds the same few sockets and never more requests in flight: the server keeps answering others.
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadUndici } from '../../infra/net/undici.js';
import { errorMessage } from '../../infra/queue/contract.js';

export const SEGMENT_POOL_SIZE = 3;
export const MAX_SEGMENTS = 6;
export const MAX_TRAFFIC_REQUESTS = 1_000_000;
/** requests in flight at once: enough to keep a server busy, far from starving it */
export const DEFAULT_TRAFFIC_CONCURRENCY = 16;
/** a run stops early when this many requests in a row could not even connect */
const GIVE_UP_AFTER_TRANSPORT_ERRORS = 1_000;

export interface TrafficSummary {
  n: number;
  ok: number;
  failed: number;
  duration_ms: number;
  requests_per_second: number;
  /** the run's segment strings */
  segments: string[];
  /** the first failure, when there was one */
  first_error?: string;
}

export interface TrafficProgress {
  n: number;
  sent: number;
  ok: number;
  failed: number;
}

export interface TrafficOptions {
  n: number;
  /** the server's origin (checked to be loopback by the callers) */
  baseUrl: string;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TrafficProgress) => void | Promise<void>;
  /** at most one progress report per this many milliseconds (default 250) */
  progressEveryMs?: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Three distinct random strings of 8 letters and digits. */
export function makeSegmentPool(): string[] {
  const pool = new Set<string>();
  while (pool.size < SEGMENT_POOL_SIZE) {
    let segment = '';
    for (let i = 0; i < 8; i++) segment += ALPHABET[randomInt(ALPHABET.length)];
    pool.add(segment);
  }
  return [...pool];
}

/** /api/ then 1 to MAX_SEGMENTS segments from the pool, with a trailing slash: /api/a/b/ */
export function randomApiPath(pool: readonly string[], random: () => number = Math.random): string {
  const segments = 1 + Math.floor(random() * MAX_SEGMENTS);
  let path = '/api/';
  for (let i = 0; i < segments; i++) path += pool[Math.floor(random() * pool.length)] + '/';
  return path;
}

export async function runTraffic(options: TrafficOptions): Promise<TrafficSummary> {
  const { n, baseUrl } = options;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_TRAFFIC_REQUESTS) throw new RangeError(`n must be a whole number from 1 to ${MAX_TRAFFIC_REQUESTS}`);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? DEFAULT_TRAFFIC_CONCURRENCY, n));
  const progressEveryMs = options.progressEveryMs ?? 250;
  const segments = makeSegmentPool();
  const { Pool } = await loadUndici();
  const pool = new Pool(baseUrl, { connections: concurrency, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000, keepAliveTimeout: 10_000 });
  const started = performance.now();
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let transportErrorsInARow = 0;
  let firstError: string | undefined;
  let gaveUp = false;

  let lastReport = 0;
  let reporting: Promise<void> | null = null;
  const report = (force: boolean) => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (!force && (reporting || now - lastReport < progressEveryMs)) return;
    lastReport = now;
    // Progress is best effort: a report that fails (the queue's store is busy) must not stop the run.
    reporting = Promise.resolve(options.onProgress({ n, sent, ok, failed }))
      .catch(() => {})
      .finally(() => (reporting = null));
  };

  const sendOne = async (path: string) => {
    try {
      // No per-request abort signal (16 listeners on one signal): on abort, lanes stop sending and
      // the requests in flight, short ones to our own server, finish.
      const response = await pool.request({ method: 'GET', path });
      await response.body.dump();
      transportErrorsInARow = 0;
      if (response.statusCode >= 200 && response.statusCode < 300) ok++;
      else {
        failed++;
        firstError ??= `GET ${path} answered ${response.statusCode}`;
      }
    } catch (error) {
      failed++;
      firstError ??= `GET ${path}: ${errorMessage(error)}`;
      if (++transportErrorsInARow >= GIVE_UP_AFTER_TRANSPORT_ERRORS) gaveUp = true;
    }
  };

  const lane = async () => {
    while (sent < n && !gaveUp && !options.signal?.aborted) {
      sent++;
      await sendOne(randomApiPath(segments));
      report(false);
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    await pool.close().catch(() => {});
  }
  if (options.signal?.aborted) throw new Error(`traffic run interrupted after ${ok + failed} of ${n} requests`);
  if (gaveUp) {
    // what was never sent failed too: the summary still accounts for all n
    failed += n - sent;
    firstError = `gave up after ${GIVE_UP_AFTER_TRANSPORT_ERRORS} requests in a row could not be sent; first error: ${firstError}`;
  }
  report(true);
  await reporting;
  const durationMs = performance.now() - started;
  return {
    n,
    ok,
    failed,
    duration_ms: Math.round(durationMs),
    requests_per_second: Math.round((ok + failed) / Math.max(durationMs / 1000, 0.001)),
    segments,
    ...(firstError ? { first_error: firstError } : {}),
  };
}

/**
 * runTraffic on a worker thread of its own: the requests are made off the calling thread's event
 * loop, which then only has to answer them (when it is the server's). Progress comes back as
 * messages; an abort stops the run the same way.
 */
export function runTrafficInThread(options: TrafficOptions): Promise<TrafficSummary> {
  const here = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(here), `traffic-thread${path.extname(here)}`);
  const { n, baseUrl, concurrency, progressEveryMs } = options;
  const workerData = { n, baseUrl, concurrency, progressEveryMs };
  // From sources (tests, tsx) the thread registers tsx's loader before it imports the entry (Node 20
  // applies neither the parent's loader nor an --import in execArgv to worker threads); a build runs .js.
  const worker = entry.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(tsxEsmApiUrl())})` +
          `.then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(entry).href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
  return new Promise<TrafficSummary>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      outcome();
      void worker.terminate();
    };
    const onAbort = () => worker.postMessage('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // a signal aborted before the thread was asked for fires no event
    if (options.signal?.aborted) onAbort();
    worker.on('message', (message: { type: 'progress'; progress: TrafficProgress } | { type: 'done'; summary: TrafficSummary } | { type: 'error'; message: string }) => {
      if (message.type === 'progress') void Promise.resolve(options.onProgress?.(message.progress)).catch(() => {});
      else if (message.type === 'done') settle(() => resolve(message.summary));
      else settle(() => reject(new Error(message.message)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the traffic thread stopped (exit code ${code}) before it finished`))));
  });
}

/** tsx's ESM register API, as its package.json exports it (require.resolve would pick the CommonJS build). */
function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  return pathToFileURL(path.join(path.dirname(manifestPath), manifest.exports['./esm/api'].import.default)).href;
}
