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

  it('describes the error shape once in /openapi.json, and every 4xx and 5xx JSON answer refers to it', async () => {
    const spec = (await wy.workyard.app.inject({ url: '/openapi.json' })).json();
    const errorShapes: string[] = [];
    (function collect(node: unknown, where: string) {
      if (!node || typeof node !== 'object') return;
      const properties = (node as { properties?: { error?: { properties?: object } } }).properties;
      if (properties?.error?.properties && 'code' in properties.error.properties) errorShapes.push(where);
      for (const [key, child] of Object.entries(node)) collect(child, `${where}/${key}`);
    })(spec, '#');
    expect(errorShapes).toEqual(['#/components/schemas/WorkyardError']);
    const fields = spec.components.schemas.WorkyardError.properties.error.properties;
    expect(Object.keys(fields)).toEqual(expect.arrayContaining(['code', 'message', 'field', 'dependency', 'retry_after_s']));

    const answers: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, { responses?: Record<string, { content?: Record<string, { schema: unknown }> }> }>>(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          if (!/^[45]/.test(status)) continue;
          for (const [type, media] of Object.entries(response.content ?? {})) {
            const answer = `${method} ${path} ${status} ${type}`;
            answers.push(answer);
            // Only the feedback form's CSRF refusal answers with a page (HTML) rather than the shape.
            if (type === 'text/html') expect(media.schema, answer).toEqual({ type: 'string' });
            else expect(media.schema, answer).toEqual({ $ref: '#/components/schemas/WorkyardError' });
          }
        }
      }
    }
    // every module's routes are in the document (the blobs routes, both kinds, are the last added)
    expect(answers).toEqual(expect.arrayContaining(['get /tasks/{id} 404 application/json', 'post /feedback/sync 422 application/json', 'post /put/ 413 application/json', 'post /test/{n}/ 504 application/json']));
  });
});
