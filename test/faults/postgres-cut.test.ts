// PostgreSQL cut, then unreachable (packets dropped), between a running Workyard and its
// database (PostgreSQL records and SQL queue, no Redis): every route that needs it answers 503
// naming postgres within a second, the others keep answering, service is back within 5 s of the
// database's return without a restart, and no queued job is lost.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxiedTestDatabase, proxiedTestDatabase } from '../support/fault-proxy.js';
import { needService } from '../support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';
import { type Probe, ask } from './outage-probes.js';
import { checkProxyOutage, feedback, outageTitle } from './proxy-outage.js';

const ok = await needService('postgres');

function probes(taskId: string): Probe[] {
  return [
    { name: 'GET /readyz', needs: 'postgres', method: 'GET', url: '/readyz' },
    { name: 'POST /feedback/sync', needs: 'postgres', method: 'POST', url: '/feedback/sync', body: feedback('probe') },
    { name: 'POST /feedback/async', needs: 'postgres', method: 'POST', url: '/feedback/async', body: feedback('probe') },
    { name: 'GET /feedback.json', needs: 'postgres', method: 'GET', url: '/feedback.json' },
    { name: 'GET /tasks/:id', needs: 'postgres', method: 'GET', url: `/tasks/${taskId}` },
    { name: 'POST /async/post_task', needs: 'postgres', method: 'POST', url: '/async/post_task', body: { numbers: [1, 2, 3] } },
    { name: 'GET /stats/', needs: 'postgres', method: 'GET', url: '/stats/' },
    { name: 'GET /text_tasks', needs: 'postgres', method: 'GET', url: '/text_tasks' },
    { name: 'GET /healthz', needs: null, method: 'GET', url: '/healthz' },
    { name: 'GET /openapi.json', needs: null, method: 'GET', url: '/openapi.json' },
    { name: 'GET /docs/', needs: null, method: 'GET', url: '/docs/' },
    { name: 'PUT /blobs/:key', needs: null, method: 'PUT', url: '/blobs/fault-probe-put', body: { bytes: 'on disk' } },
    { name: 'GET /blobs/:key', needs: null, method: 'GET', url: '/blobs/fault-probe' },
    { name: 'GET /api/*', needs: null, method: 'GET', url: '/api/fault-probe' },
    { name: 'GET /dashboard', needs: null, method: 'GET', url: '/dashboard' },
  ];
}

describe.skipIf(!ok)('PostgreSQL cut and unreachable (records and SQL queue in PostgreSQL)', () => {
  let database: ProxiedTestDatabase;
  let wy: TestWorkyard;
  let direct: pg.Client;
  const acknowledged: string[] = [];
  let taskId: string;

  beforeAll(async () => {
    database = await proxiedTestDatabase();
    wy = await startTestWorkyard({ WORKYARD_DATABASE_URL: database.url, WORKYARD_QUEUE_LEASE_MS: '2000' });
    direct = new pg.Client({ connectionString: database.directUrl });
    await direct.connect();
    const first = await ask(wy.baseUrl, { name: 'enqueue', needs: null, method: 'POST', url: '/feedback/async', body: feedback('first') });
    taskId = first.body.task_id;
    expect(first.status).toBe(202);
    expect((await ask(wy.baseUrl, { name: 'put', needs: null, method: 'PUT', url: '/blobs/fault-probe', body: { bytes: 'on disk' } })).status).toBe(201);
  });
  afterAll(async () => {
    await wy?.close();
    await direct?.end();
    await database?.close();
  });

  for (const fault of ['cut', 'blackhole'] as const) {
    it(outageTitle(fault, 'postgres'), { timeout: 120_000 }, ({ task }) =>
      checkProxyOutage({ fault, dependency: 'postgres', baseUrl: wy.baseUrl, proxy: database.proxy, probes: probes(taskId), direct, acknowledged }, task));
  }
});
