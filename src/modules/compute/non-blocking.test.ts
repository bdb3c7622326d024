// The proof that /sync/sum never stalls the server: 2,000 requests wait one second each for their
// worker, concurrently, over real HTTP on loopback (one undici connection each), while /healthz
// is polled throughout. Clients run in worker threads, so their own work does not count against
// the server's event loop.
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { type DriverUnderTest, driverMatrix } from '../../../test/support/drivers.js';

const REQUESTS = 2_000;
const DELAY_MS = 1_000;
const HEALTH_LIMIT_MS = 100;
// A server that waited for its sums would stall for the whole delay; one probe slowed by a GC pause
// or by Redis and the client threads sharing two cores is not that (a CI run saw one probe of 122 ms among 249, the event loop's p99 at 57 ms).
const HEALTH_STALL_MS = DELAY_MS / 4;

// Every sum needs the compensation: plain addition loses the 0.25 next to 1e16.
const numbersFor = (i: number) => [i, 1e16, 0.25, -1e16];
const expectedSum = (i: number) => i + 0.25;

const sumClientSource = `
const { workerData, parentPort } = require('node:worker_threads');
const { Client } = require('undici');
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Waves of 100 every 40 ms: all 2,000 are out after 0.8 s, within the delay, so they all wait at
// once; and the offered rate (2,500 requests/s) stays below what one event loop can take in, so
// what is measured is the waiting, not a backlog of requests not yet read.
const wave = (i) => pause(Math.floor(i / 100) * 40);
(async () => {
  const { url, count, delayMs } = workerData;
  // One connection per request, opened before the run, 250 at a time: connecting is not what is
  // measured, and 2,000 connects at once overflow the listen backlog (511) into resets.
  const clients = Array.from({ length: count }, () => new Client(url, { keepAliveTimeout: 60000, headersTimeout: 60000, bodyTimeout: 60000 }));
  for (let i = 0; i < count; i += 250) {
    await Promise.all(clients.slice(i, i + 250).map(async (client) => (await client.request({ path: '/healthz', method: 'GET' })).body.dump()));
  }
  // A few sums first, so that what is measured is the server warm (JIT, prepared statements), not its first requests.
  for (let round = 0; round < 5; round++) {
    await Promise.all(clients.slice(0, 100).map(async (client) => (await client.request({
      path: '/sync/sum', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"numbers":[1,2,3],"delay_ms":0}',
    })).body.dump()));
  }
  parentPort.postMessage({ connected: count });
  await new Promise((resolve) => parentPort.once('message', resolve));
  const started = performance.now();
  const outcomes = await Promise.all(clients.map(async (client, i) => {
    await wave(i);
    try {
      const res = await client.request({
        path: '/sync/sum', method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ numbers: [i, 1e16, 0.25, -1e16], delay_ms: delayMs }),
      });
      const body = await res.body.json();
      return { i, status: res.statusCode, result: body.result, ms: performance.now() - started };
    } catch (error) {
      return { i, status: 0, error: String(error), ms: performance.now() - started };
    }
  }));
  const totalMs = performance.now() - started;
  await Promise.all(clients.map((client) => client.close()));
  parentPort.postMessage({ outcomes, totalMs });
})();
`;

const healthPollerSource = `
const { workerData, parentPort } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let stopping = false;
parentPort.on('message', () => (stopping = true));
const latencies = [];
const failures = [];
const poll = () => new Promise((resolve) => {
  const started = performance.now();
  const req = http.get(workerData.url + '/healthz', { agent }, (res) => {
    res.resume();
    res.on('end', () => {
      latencies.push(performance.now() - started);
      if (res.statusCode !== 200) failures.push(res.statusCode);
      resolve();
    });
  });
  req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
  req.on('error', (error) => { failures.push(String(error)); latencies.push(performance.now() - started); resolve(); });
});
(async () => {
  while (!stopping) {
    await poll();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  agent.destroy();
  parentPort.postMessage({ latencies, failures });
})();
`;

function startWorker(source: string, workerData: object) {
  const worker = new Worker(source, { eval: true, workerData });
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before answering`)));
  });
  failed.catch(() => {});
  const nextMessage = <T>() => Promise.race([new Promise<T>((resolve) => worker.once('message', resolve)), failed]);
  return { worker, nextMessage };
}

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`/sync/sum does not block the server (${driver.name} queue)`, () => {
    let setup: DriverUnderTest;
    let wy: TestWorkyard;
    beforeAll(async () => {
      setup = await driver.setUp();
      wy = await startTestWorkyard(setup.env);
    });
    afterAll(async () => {
      await wy?.close();
      await setup?.cleanup();
    });

    it(`serves /healthz in under ${HEALTH_LIMIT_MS} ms (p99; never stalled ${HEALTH_STALL_MS} ms) while ${REQUESTS} requests wait ${DELAY_MS} ms each for their sums`, async () => {
      const sums = startWorker(sumClientSource, { url: wy.baseUrl, count: REQUESTS, delayMs: DELAY_MS });
      await sums.nextMessage();
      const poller = startWorker(healthPollerSource, { url: wy.baseUrl });
      const pollerDone = poller.nextMessage<{ latencies: number[]; failures: unknown[] }>();
      const sumsDone = sums.nextMessage<{ outcomes: { i: number; status: number; result?: number; error?: string; ms: number }[]; totalMs: number }>();
      // The server's own view, printed to tell a stalled server from a starved machine.
      const serverLoop = monitorEventLoopDelay({ resolution: 10 });
      serverLoop.enable();
      sums.worker.postMessage('go');
      const { outcomes, totalMs } = await sumsDone;
      poller.worker.postMessage('stop');
      const { latencies, failures } = await pollerDone;
      serverLoop.disable();
      await Promise.all([sums.worker.terminate(), poller.worker.terminate()]);

      const wrong = outcomes.filter((o) => o.status !== 200 || o.result !== expectedSum(o.i));
      const slowest = Math.max(...latencies);
      const p99 = [...latencies].sort((a, b) => a - b)[Math.ceil(latencies.length * 0.99) - 1];
      const byOutcome: Record<string, number> = {};
      for (const o of wrong) byOutcome[o.error ?? `${o.status} ${o.result}`] = (byOutcome[o.error ?? `${o.status} ${o.result}`] ?? 0) + 1;
      console.log(
        `[compute non-blocking, ${driver.name}] ${REQUESTS} sums in ${Math.round(totalMs)} ms, ${wrong.length} wrong` +
          `${wrong.length ? ` ${JSON.stringify(byOutcome)}` : ''}; ` +
          `/healthz polled ${latencies.length}×, p99 ${p99.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms; server event-loop delay p99 ` +
          `${(serverLoop.percentile(99) / 1e6).toFixed(1)} ms, max ${(serverLoop.max / 1e6).toFixed(1)} ms; load average ${os.loadavg()[0].toFixed(1)}`,
      );
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(outcomes).toHaveLength(REQUESTS);
      expect(numbersFor(3).reduce((a, b) => a + b)).not.toBe(expectedSum(3)); // the check needs compensation
      // They waited together, not one after another (nor in a few large waves).
      expect(totalMs).toBeGreaterThanOrEqual(DELAY_MS);
      expect(totalMs).toBeLessThan(DELAY_MS * 8);
      expect(failures).toEqual([]);
      expect(latencies.length).toBeGreaterThan(20);
      expect(p99).toBeLessThan(HEALTH_LIMIT_MS);
      expect(slowest).toBeLessThan(HEALTH_STALL_MS);
    }, 60_000);
  });
}
