// Which routes need WORKYARD_API_KEY, proven over the whole app: every route in /openapi.json (and
// the pages outside it) is asked without a key, and exactly the admin and destructive ones answer
// 401; those then answer 401 to a wrong key and let the right one through. What the README's
// Security section says is public is what this test finds public.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsOf } from '../fuzz/hostile-requests.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const KEY = 'admin-routes-test-key';
/** The admin and destructive routes (the issue's list), as "METHOD /openapi/path". */
const ADMIN = ['DELETE /stats/', 'POST /test/{n}/', 'DELETE /blobs/{*}', 'DELETE /tasks/{id}', 'POST /schedules', 'DELETE /schedules/{id}', 'GET /dashboard', 'GET /dashboard/summary', 'GET /dashboard/events', 'GET /dashboard/panels/stats', 'GET /queues', 'POST /queues/{name}/pause', 'POST /queues/{name}/resume', 'GET /tasks', 'POST /tasks/{id}/retry', 'POST /tasks/retry'];
// The dashboard's buttons (they need the page's CSRF token too: with the key alone they answer 403).
// Webhooks (#19): every route; the feedback exports.
ADMIN.push('POST /webhooks', 'GET /webhooks', 'GET /webhooks/{id}', 'DELETE /webhooks/{id}', 'POST /webhooks/{id}/test', 'GET /webhooks/{id}/deliveries', 'POST /webhooks/{id}/deliveries/{delivery}/retry');
ADMIN.push('GET /feedback/export.csv', 'GET /feedback/export.ndjson', 'POST /blobs/{*}', 'POST /blob-tokens', 'GET /blob-tokens', 'DELETE /blob-tokens/{id}');
ADMIN.push(...['tasks/{id}/retry', 'tasks/{id}/cancel', 'queues/{name}/pause', 'queues/{name}/resume', 'queues/{name}/retry-failed'].map((action) => `POST /dashboard/actions/${action}`));

async function call(baseUrl: string, method: string, path: string, authorization?: string) {
  const url = baseUrl + path.replace(/\{\*\}/, 'admin-test-key').replace(/\{n\}/, '1').replace(/\{[^}]+\}/g, 'admin-test-id');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(url, { method, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  // Event streams stay open: their status is the answer.
  await res.body?.cancel();
  return res.status;
}

async function routesNeedingKey(wy: TestWorkyard, extra: string[]): Promise<string[]> {
  const spec = await (await fetch(`${wy.baseUrl}/openapi.json`)).json();
  const routes = [...operationsOf(spec).map((op) => `${op.method} ${op.path}`), ...extra];
  const guarded: string[] = [];
  for (const route of routes) {
    const [method, path] = route.split(' ');
    if ((await call(wy.baseUrl, method, path)) === 401) guarded.push(route);
  }
  return guarded.sort();
}

describe('admin and destructive routes need the API key (embedded shape)', () => {
  let wy: TestWorkyard;
  beforeAll(async () => {
    wy = await startTestWorkyard({ WORKYARD_API_KEY: KEY });
  });
  afterAll(() => wy?.close());

  it('answers 401 without the key on exactly the admin routes; every other route is public', async () => {
    expect(await routesNeedingKey(wy, ['GET /docs/', 'GET /docs/json'])).toEqual([...ADMIN].sort());
  });

  it.each(ADMIN)('%s: 401 with a wrong key or scheme, through with the right one', async (route) => {
    const [method, path] = route.split(' ');
    expect(await call(wy.baseUrl, method, path, 'Bearer not-the-key')).toBe(401);
    expect(await call(wy.baseUrl, method, path, `Basic ${Buffer.from(`admin:${KEY}`).toString('base64')}`)).toBe(401);
    expect(await call(wy.baseUrl, method, path, `Bearer ${KEY}`)).not.toBe(401);
  });
});

const redisOk = await needService('redis');

describe.skipIf(!redisOk)('the queue admin pages need the API key (BullMQ shape)', () => {
  let wy: TestWorkyard;
  beforeAll(async () => {
    wy = await startTestWorkyard({ WORKYARD_API_KEY: KEY, WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('admin') });
  });
  afterAll(() => wy?.close());

  it('guards /admin/queues and its API like the dashboard', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      expect(await call(wy.baseUrl, 'GET', path), path).toBe(401);
      expect(await call(wy.baseUrl, 'GET', path, 'Bearer not-the-key'), path).toBe(401);
      expect(await call(wy.baseUrl, 'GET', path, `Bearer ${KEY}`), path).toBe(200);
    }
  });
});
