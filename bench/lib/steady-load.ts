// A steady GET load on loopback that runs through a whole experiment: requests at a fixed rate from
// a worker thread (undici, kept-alive connections), each latency kept with the time it was sent.
// A figure can then compare the latencies of two periods of one load — before some work and
// while it runs — from the same warm client, over as many requests as each period holds.
// (A fresh autocannon per period starts a cold thread and new connections each time, whose first
// requests weigh on a 3-second period's p99 as much as the work measured.)
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface LatencySample {
  /** performance.timeOrigin-based ms at which the request was sent */
  sentAt: number;
  latencyMs: number;
  ok: boolean;
}

export interface SteadyLoad {
  /** ends the load once its requests are answered; every sample, in the order the answers came */
  stop(): Promise<LatencySample[]>;
}

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Pool } = require(workerData.undici);
const { url, rate, connections } = workerData;
const target = new URL(url);
const pool = new Pool(target.origin, { connections, pipelining: 1 });
const samples = [];
let running = true;
let inFlight = 0;
const send = () => {
  // a request waiting for a connection counts its wait: a stalled server shows in the latencies
  inFlight++;
  const sentAt = performance.timeOrigin + performance.now();
  const started = performance.now();
  pool.request({ method: 'GET', path: target.pathname + target.search }).then(
    async (response) => {
      await response.body.dump();
      samples.push([sentAt, performance.now() - started, response.statusCode < 300 ? 1 : 0]);
    },
    () => samples.push([sentAt, performance.now() - started, 0]),
  ).finally(() => inFlight--);
};
// due requests are sent in bursts of whatever is due each millisecond tick: the rate holds even when a tick comes late
const begun = performance.now();
let sent = 0;
const tick = () => {
  if (!running) return;
  const due = Math.floor(((performance.now() - begun) * rate) / 1000);
  while (sent < due) { send(); sent++; }
  setTimeout(tick, 1);
};
tick();
parentPort.once('message', async () => {
  running = false;
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await pool.close();
  parentPort.postMessage(samples);
});
`;

export function steadyLoad(options: { url: string; rate: number; connections: number }): SteadyLoad {
  const url = new URL(options.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hostname.startsWith('127.')) {
    throw new Error(`benchmarks send traffic to loopback only, not to ${url.hostname}`);
  }
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ...options, undici: createRequire(import.meta.url).resolve('undici') } });
  return {
    stop: async () => {
      const rows = await new Promise<[number, number, number][]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('stop');
      });
      await worker.terminate();
      return rows.map(([sentAt, latencyMs, ok]) => ({ sentAt, latencyMs, ok: ok === 1 }));
    },
  };
}

/** The `q` quantile (0–1) of the latencies of the samples sent within [from, to). */
export function latencyQuantile(samples: LatencySample[], from: number, to: number, q: number): { ms: number; count: number } {
  const latencies = samples.filter((s) => s.sentAt >= from && s.sentAt < to).map((s) => s.latencyMs).sort((a, b) => a - b);
  if (!latencies.length) return { ms: NaN, count: 0 };
  return { ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))], count: latencies.length };
}

/** Now, on the clock the samples' sentAt use. */
export const clockNow = () => performance.timeOrigin + performance.now();
