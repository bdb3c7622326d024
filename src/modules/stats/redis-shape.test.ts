// Scaled shape: counts live in one Redis sorted set, so every API process sees every process's
// requests; a Redis outage costs /stats/ a fast 503, never a request to /api/, and loses no count.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../../test/support/fault-proxy.js';
import { deleteRedisPrefix } from '../../../test/support/redis-keys.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import type { TestWorkyard } from '../../../test/support/workyard.js';
import { type StatsBody, countOf, startStatsWorkyard } from '../../../test/support/stats.js';

const redis = await needService('redis');

const stats = async (wy: TestWorkyard): Promise<StatsBody> => (await fetch(`${wy.baseUrl}/stats/?limit=1000`)).json() as Promise<StatsBody>;

describe.skipIf(!redis)('stats on Redis shared by two API processes', () => {
  const prefix = uniqueRedisPrefix('stats');
  let a: TestWorkyard;
  let b: TestWorkyard;
  beforeAll(async () => {
    const env = { WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix };
    a = await startStatsWorkyard(env);
    b = await startStatsWorkyard(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await deleteRedisPrefix(redisUrl, prefix);
  });

  it('runs on the Redis counters driver', async () => {
    const ready = (await (await fetch(`${a.baseUrl}/readyz`)).json()) as { drivers: Record<string, string> };
    expect(ready.drivers.counters).toBe('redis');
  });

  it('counts the requests of both processes in one sorted set, visible to each within 100 ms', async () => {
    expect((await fetch(`${a.baseUrl}/stats/`, { method: 'DELETE' })).status).toBe(204);
    for (let i = 0; i < 5; i++) await fetch(`${a.baseUrl}/api/shared/?from=a`);
    for (let i = 0; i < 7; i++) await fetch(`${b.baseUrl}/api/shared/?from=b`);
    await fetch(`${b.baseUrl}/api/only-b/`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fromA = await stats(a);
    expect(countOf(fromA, '/api/shared/')).toBe(12);
    expect(countOf(fromA, '/api/only-b/')).toBe(1);
    const fromB = await stats(b);
    expect(countOf(fromB, '/api/shared/')).toBe(12);
    // both reads counted, one in each process
    expect(countOf(fromB, '/stats/')).toBe(2);
    expect(fromB.total_requests).toBe(5 + 7 + 1 + 2);
  });

  it('shares buckets and one visitor salt: a visitor seen by both processes counts once', async () => {
    expect((await fetch(`${a.baseUrl}/stats/`, { method: 'DELETE' })).status).toBe(204);
    const as = (agent: string) => ({ headers: { 'user-agent': agent } });
    for (const wy of [a, b]) {
      await fetch(`${wy.baseUrl}/api/visited/`, as('same browser'));
      await fetch(`${wy.baseUrl}/api/visited/`, as(`browser of ${wy.baseUrl}`));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ranged = (await (await fetch(`${a.baseUrl}/stats/?from=-1h&limit=1`)).json()) as { paths: { path: string; count: number; unique_visitors: number }[] };
    expect(ranged.paths).toEqual([{ path: '/api/visited/', count: 4, unique_visitors: 3 }]);
    const series = (await (await fetch(`${b.baseUrl}/stats/timeseries?path=/api/visited/&from=-1h`)).json()) as { points: { count: number }[] };
    expect(series.points.reduce((sum, p) => sum + p.count, 0)).toBe(4);
  });

  it('runs /test/{n}/ through the shared queue and counts every request', async () => {
    await fetch(`${a.baseUrl}/stats/`, { method: 'DELETE' });
    const res = await fetch(`${b.baseUrl}/test/400/?wait=true`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ n: 400, ok: 400, failed: 0 });
    const page = await stats(a);
    expect(page.paths.filter((p) => p.path.startsWith('/api/')).reduce((sum, p) => sum + p.count, 0)).toBe(400);
  });
});

describe.skipIf(!redis)('stats while Redis is away', () => {
  const prefix = uniqueRedisPrefix('stats-outage');
  let proxy: FaultProxy;
  let wy: TestWorkyard;
  beforeAll(async () => {
    const target = new URL(redisUrl);
    proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 6379) });
    wy = await startStatsWorkyard({ WORKYARD_REDIS_URL: `redis://127.0.0.1:${proxy.port}`, WORKYARD_REDIS_PREFIX: prefix, WORKYARD_DEPENDENCY_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    proxy?.restore();
    await wy?.close();
    await proxy?.close();
    await deleteRedisPrefix(redisUrl, prefix);
  });

  it('answers /api/ as usual, /stats/ with a fast 503 naming redis, and loses no count', async () => {
    await fetch(`${wy.baseUrl}/stats/`, { method: 'DELETE' });
    await fetch(`${wy.baseUrl}/api/before/`);
    proxy.cut();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${wy.baseUrl}/api/during/`);
      expect(res.status).toBe(200);
    }
    const started = performance.now();
    const down = await fetch(`${wy.baseUrl}/stats/`);
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: unknown }).error).toMatchObject({ code: 'dependency_unavailable', dependency: 'redis' });
    expect(performance.now() - started).toBeLessThan(1_000);

    proxy.restore();
    const page = await vi.waitUntil(async () => {
      const res = await fetch(`${wy.baseUrl}/stats/`);
      return res.status === 200 && ((await res.json()) as StatsBody);
    }, { timeout: 15_000, interval: 100 });
    expect(countOf(page, '/api/before/')).toBe(1);
    expect(countOf(page, '/api/during/')).toBe(10);
  });
});
