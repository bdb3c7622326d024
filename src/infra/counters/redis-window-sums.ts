// A ranked window built afresh on Redis, summed on a thread of its own.
//
// A build (redis-buckets.ts) sums every key of the window's buckets — up to a million paths — in a
// Map, each key a string that lives until the build ends. Every young-generation collection on
// the way then copies what the one before left alive: 20–43 ms of a paused event loop each
// (bench:stats-rollup: the API's p99 was 78 ms during a 24-hour build, 23 ms without). Here a
// worker thread with a Redis connection of its own reads the bucket sets a slice of ranks at a
// time, sums them and writes the build's key a slice at a time; its collections pause only it. The
// caller swaps the key in. After each call (and the summing of what it read) the thread rests as
// long as that took, as paced-turns.ts does: the build takes at most half of Redis and of a core.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Redis, RedisOptions } from 'ioredis';
import { LOWER_THREAD_PRIORITY } from '../background-thread.js';
import { MAX_REST_MS } from '../db/paced-turns.js';

export interface WindowSumJob {
  /** the bucket sets to sum (scores are negative counts, as windows keep them) */
  sets: string[];
  /** entries read or written per Redis call */
  slice: number;
  /** the key the sums go to, a sorted set that expires after ttlMs unless it is swapped in */
  building: string;
  ttlMs: number;
}

// CommonJS run by the thread: the sums, then one message ({ keys } or { error }); it ends with its connection.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Redis } = require(workerData.ioredis);
const { sets, slice, building, ttlMs } = workerData.job;
${LOWER_THREAD_PRIORITY}
const redis = new Redis({ ...workerData.connection, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
// a lost or refused connection rejects commands with "Connection is closed."; its cause comes here
let connectionError;
redis.on('error', (error) => (connectionError = error));
const { maxRestMs } = workerData;
let since = performance.now();
const rest = async () => {
  await new Promise((resolve) => setTimeout(resolve, Math.min(performance.now() - since, maxRestMs)));
  since = performance.now();
};
const exec = async (multi) => {
  const results = await multi.exec();
  if (!results) throw new Error('redis discarded the transaction');
  for (const [error] of results) if (error) throw error;
};
const sum = async () => {
  await redis.connect();
  const sums = new Map();
  for (const set of sets) {
    for (let from = 0; ; from += slice) {
      const flat = await redis.zrange(set, from, from + slice - 1, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) sums.set(flat[i], (sums.get(flat[i]) ?? 0) + Number(flat[i + 1]));
      if (flat.length < slice * 2) break;
      await rest();
    }
  }
  let pending = [];
  for (const [key, score] of sums) {
    pending.push(score, key);
    if (pending.length >= slice * 2) {
      await exec(redis.multi().zadd(building, ...pending).pexpire(building, ttlMs));
      pending = [];
      await rest();
    }
  }
  if (pending.length) await exec(redis.multi().zadd(building, ...pending).pexpire(building, ttlMs));
  return sums.size;
};
sum().then(
  (keys) => parentPort.postMessage({ keys }),
  (error) => parentPort.postMessage({ error: [(error && error.message) || String(error), connectionError && connectionError.message].filter(Boolean).join(': ') }),
).finally(() => redis.disconnect());
`;

/** Where `redis` connects, as options a thread can be given (no functions, no sentinels). */
function connectionOf(redis: Redis): RedisOptions {
  const { host, port, path, family, username, password, db, tls, connectTimeout } = redis.options;
  const plainTls = tls ? Object.fromEntries(Object.entries(tls).filter(([, value]) => typeof value !== 'function')) : undefined;
  return { host, port, path, family, username, password, db, tls: plainTls, connectTimeout, connectionName: 'workyard-window-build' };
}

/**
 * Sums `job.sets` into `job.building` on a thread, through a connection like `redis`'s. Resolves
 * with how many keys the sums have; rejects with Redis's error (a connection lost fails the build:
 * its job runs again).
 */
export function sumWindowOffThread(redis: Redis, job: WindowSumJob): Promise<number> {
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ioredis: createRequire(import.meta.url).resolve('ioredis'), connection: connectionOf(redis), job, maxRestMs: MAX_REST_MS } });
  return new Promise<number>((resolve, reject) => {
    worker.once('message', (answer: { keys?: number; error?: string }) => (answer.error === undefined ? resolve(answer.keys ?? 0) : reject(new Error(`window build: ${answer.error}`))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`window build: its thread ended (code ${code}) before it answered`)));
  });
}
