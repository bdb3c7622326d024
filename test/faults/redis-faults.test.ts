// Redis faults in the BullMQ shape (BullMQ queue and counters in a private redis-server with an
// append-only file, records in PostgreSQL), through a fault proxy:
//  - cut, then unreachable: every route that needs Redis answers 503 naming redis within 1 s, the
//    others keep answering, service is back within 5 s of its return (no restart), no queued job lost;
//  - slowed to 2 s per reply: no request is held past its deadline, and /healthz stays under 100 ms.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.js';
import { createTestDatabase, needService, uniqueRedisPrefix } from '../support/services.js';
import { recordFigures } from '../support/suite-figures.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';
import { type Probe, ask, outageProblem, waitForRecovery } from './outage-probes.js';
import { checkProxyOutage, feedback, outageTitle } from './proxy-outage.js';

const ok = await needService('postgres');

function probes(taskId: string, sumId: string): Probe[] {
  return [
    { name: 'GET /readyz', needs: 'redis', method: 'GET', url: '/readyz' },
    { name: 'POST /feedback/async', needs: 'redis', method: 'POST', url: '/feedback/async', body: feedback('probe') },
    { name: 'GET /tasks/:id', needs: 'redis', method: 'GET', url: `/tasks/${taskId}` },
    { name: 'POST /async/post_task', needs: 'redis', method: 'POST', url: '/async/post_task', body: { numbers: [1, 2, 3] } },
    { name: 'POST /sync/sum', needs: 'redis', method: 'POST', url: '/sync/sum', body: { numbers: [1, 2, 3] } },
    { name: 'GET /stats/', needs: 'redis', method: 'GET', url: '/stats/' },
    { name: 'GET /healthz', needs: null, method: 'GET', url: '/healthz' },
    { name: 'GET /openapi.json', needs: null, method: 'GET', url: '/openapi.json' },
    { name: 'GET /docs/', needs: null, method: 'GET', url: '/docs/' },
    { name: 'POST /feedback/sync', needs: null, method: 'POST', url: '/feedback/sync', body: feedback('probe') },
    { name: 'GET /feedback.json', needs: null, method: 'GET', url: '/feedback.json' },
    { name: 'GET /text_tasks', needs: null, method: 'GET', url: '/text_tasks' },
    // compute keeps finished sums in SQL: reading one does not need Redis
    { name: 'GET /async/get_task_result/:id', needs: null, method: 'GET', url: `/async/get_task_result/${sumId}` },
    { name: 'PUT /blobs/:key', needs: null, method: 'PUT', url: '/blobs/fault-probe-put', body: { bytes: 'on disk' } },
    { name: 'GET /blobs/:key', needs: null, method: 'GET', url: '/blobs/fault-probe' },
    { name: 'GET /api/*', needs: null, method: 'GET', url: '/api/fault-probe' },
    { name: 'GET /dashboard', needs: null, method: 'GET', url: '/dashboard' },
  ];
}

describe.skipIf(!ok)('Redis faults (BullMQ queue and counters in Redis, records in PostgreSQL)', () => {
  let redis: PrivateRedis;
  let database: { url: string; drop(): Promise<void> };
  let proxy: FaultProxy;
  let wy: TestWorkyard;
  let direct: pg.Client;
  let taskId: string;
  let sumId: string;
  const acknowledged: string[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    database = await createTestDatabase();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.port });
    wy = await startTestWorkyard({
      WORKYARD_DATABASE_URL: database.url,
      WORKYARD_REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('faults'),
      WORKYARD_QUEUE_LEASE_MS: '2000',
    });
    direct = new pg.Client({ connectionString: database.url });
    await direct.connect();
    const first = await ask(wy.baseUrl, { name: 'enqueue', needs: null, method: 'POST', url: '/feedback/async', body: feedback('first') });
    expect(first.status).toBe(202);
    taskId = first.body.task_id;
    const sum = await ask(wy.baseUrl, { name: 'sum', needs: null, method: 'POST', url: '/async/post_task', body: { numbers: [1, 2] } });
    expect(sum.status).toBe(202);
    sumId = sum.body.task_id ?? sum.body.session_id ?? sum.body.id;
    expect((await ask(wy.baseUrl, { name: 'put', needs: null, method: 'PUT', url: '/blobs/fault-probe', body: { bytes: 'on disk' } })).status).toBe(201);
    // Every route answers as usual before any fault.
    await waitForRecovery(wy.baseUrl, probes(taskId, sumId), 10_000);
    // the sum is finished (and so readable from SQL alone) before any fault
    for (let i = 0; i < 100 && (await ask(wy.baseUrl, { name: 'sum', needs: null, method: 'GET', url: `/async/get_task_result/${sumId}` })).body?.status !== 'done'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  afterAll(async () => {
    await wy?.close();
    await direct?.end();
    await proxy?.close();
    await redis?.stop();
    await database?.drop();
  });

  for (const fault of ['cut', 'blackhole'] as const) {
    it(outageTitle(fault, 'redis'), { timeout: 120_000 }, ({ task }) =>
      checkProxyOutage({ fault, dependency: 'redis', baseUrl: wy.baseUrl, proxy, probes: probes(taskId, sumId), direct, acknowledged }, task));
  }

  it('slowed to 2 s per reply: every request answers within its deadline, /healthz stays under 100 ms', { timeout: 120_000 }, async ({ task }) => {
    const all = probes(taskId, sumId);
    const needsRedis = all.filter((probe) => probe.needs === 'redis');
    proxy.slow(2_000);
    const problems: string[] = [];
    const healthz: number[] = [];
    let answers = 0;
    for (let round = 0; round < 3; round++) {
      // Many requests waiting on Redis at once, and the probes of liveness among them.
      const load = Array.from({ length: 10 }, () => needsRedis).flat().map((probe) => ask(wy.baseUrl, probe));
      const checks = (async () => {
        for (let i = 0; i < 10; i++) {
          healthz.push((await ask(wy.baseUrl, { name: 'GET /healthz', needs: null, method: 'GET', url: '/healthz' })).ms);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      for (const answer of [...(await Promise.all(load)), ...(await Promise.all(all.map((probe) => ask(wy.baseUrl, probe))))]) {
        answers++;
        const problem = outageProblem(answer, 'redis', 1_500);
        if (problem) problems.push(`round ${round}: ${problem}`);
      }
      await checks;
    }
    proxy.restore();
    const recoveryMs = await waitForRecovery(wy.baseUrl, all, 5_000);
    healthz.sort((a, b) => a - b);
    const slowest = healthz[healthz.length - 1];
    recordFigures(task, [{ subject: 'redis slowed to 2 s per reply', faults: 1, answersDuringFault: answers, wrongAnswers: problems.length, recoveryMs: Math.round(recoveryMs), healthzMaxMs: Math.round(slowest), healthzMedianMs: Math.round(healthz[healthz.length >> 1]) }]);
    expect(problems).toEqual([]);
    expect(slowest).toBeLessThan(100);
  });
});
