import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../test/support/workyard.js';
import { suiteWorkyard } from '../../test/support/suite-workyard.js';

describe('operations routes (embedded shape)', () => {
  const wy = suiteWorkyard(() => startTestWorkyard());

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
    const shapes: string[] = [];
    const collect = (node: any, where: string): void => {
      if (node?.properties?.error?.properties?.code) shapes.push(where);
      if (node && typeof node === 'object') for (const [key, child] of Object.entries(node)) collect(child, `${where}/${key}`);
    };
    collect(spec, '#');
    expect(shapes).toEqual(['#/components/schemas/WorkyardError']);
    expect(Object.keys(spec.components.schemas.WorkyardError.properties.error.properties)).toEqual(expect.arrayContaining(['code', 'message', 'field', 'dependency', 'retry_after_s']));
    const answers = Object.entries<any>(spec.paths).flatMap(([path, operations]) =>
      Object.entries<any>(operations).flatMap(([method, { responses }]) =>
        Object.entries<any>(responses).filter(([status]) => /^[45]/.test(status)).flatMap(([status, { content }]) =>
          Object.entries<any>(content).map(([type, { schema }]) => ({ answer: `${method} ${path} ${status} ${type}`, schema })))));
    // Only the feedback form's CSRF refusal answers with a page (HTML) rather than the shape.
    for (const { answer, schema } of answers) expect(schema, answer).toEqual(answer.endsWith('text/html') ? { type: 'string' } : { $ref: '#/components/schemas/WorkyardError' });
    // every module's routes are there, the blobs compatible routes included
    expect(answers.map((a) => a.answer)).toEqual(expect.arrayContaining(['get /tasks/{id} 404 application/json', 'post /feedback/sync 422 application/json', 'post /put/ 413 application/json', 'post /test/{n}/ 504 application/json']));
  });
});
