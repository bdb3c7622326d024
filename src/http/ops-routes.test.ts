import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';

describe('operations routes (embedded shape)', () => {
  let wy: TestWorkyard;
  beforeAll(async () => {
    wy = await startTestWorkyard();
  });
  afterAll(() => wy.close());

  it('answers /healthz without touching a dependency', async () => {
    const res = await wy.workyard.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('reports each dependency with its latency on /readyz', async () => {
    const res = await wy.workyard.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.shape).toBe('embedded');
    expect(body.drivers.queue).toBe('sql-sqlite');
    expect(body.dependencies).toEqual([
      expect.objectContaining({ name: 'sqlite', status: 'up', latency_ms: expect.any(Number) }),
      expect.objectContaining({ name: 'disk', status: 'up', latency_ms: expect.any(Number) }),
    ]);
  });

  it('answers an unknown route with the standard 404 error shape', async () => {
    const res = await wy.workyard.app.inject({ url: '/no/such/route' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /no/such/route' } });
  });

  it('serves Prometheus metrics with HTTP durations by route pattern', async () => {
    await wy.workyard.app.inject({ url: '/healthz' });
    const res = await wy.workyard.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/workyard_http_request_duration_seconds_count\{shape="embedded",.*route="\/healthz",method="GET",status="200"\} \d+/);
  });

  it('publishes the OpenAPI document and the Swagger UI', async () => {
    const spec = (await wy.workyard.app.inject({ url: '/openapi.json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/tasks/{id}']));
    const ui = await wy.workyard.app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });
});
