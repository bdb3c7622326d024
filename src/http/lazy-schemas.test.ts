// Route schemas compile with their route's first request (lazy-schemas.ts): they must check and
// serialize exactly as compiled-at-start ones did, and one that cannot compile must still be caught
// before a user meets it — by compileSchemas(), run here on the whole app.
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';
import type { App, WorkyardModule } from '../app-context.js';

function moduleWithRoutes(name: string, routes: (app: App) => void): WorkyardModule {
  return { name, create: () => ({ routes }) };
}

async function withWorkyard<T>(modules: WorkyardModule[] | undefined, run: (wy: TestWorkyard) => Promise<T>): Promise<T> {
  const wy = await startTestWorkyard({}, modules ? { modules } : {});
  try {
    return await run(wy);
  } finally {
    await wy.close();
  }
}

describe('route schemas compiled on first use', () => {
  it('every one of the whole app compiles: compileSchemas() compiles them all, and none is left for a second call', async () => {
    await withWorkyard(undefined, async (wy) => {
      // validators of body, query, params and headers, and a serializer per response status: hundreds
      expect(await wy.workyard.compileSchemas()).toBeGreaterThan(200);
      expect(await wy.workyard.compileSchemas()).toBe(0);
    });
  });

  it('check, coerce and serialize as before: a 400 naming the field, a query string coerced, unknown response fields dropped', async () => {
    const routes = moduleWithRoutes('lazy', (app) => {
      app.post('/lazy/:id', {
        schema: {
          params: Type.Object({ id: Type.Integer() }),
          querystring: Type.Object({ limit: Type.Integer({ default: 10 }) }),
          body: Type.Object({ name: Type.String() }, { additionalProperties: false }),
          response: { 200: Type.Object({ id: Type.Integer(), limit: Type.Integer(), name: Type.String() }) },
        },
      }, async (request) => ({ ...request.body, ...request.params, ...request.query, secret: 'not in the schema' }) as { id: number; limit: number; name: string });
    });
    await withWorkyard([routes], async (wy) => {
      const post = (path: string, body: unknown) => fetch(`${wy.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const refused = await post('/lazy/7', { name: 5 });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { field: string } }).error.field).toBe('name');
      const answered = await post('/lazy/7?limit=3', { name: 'ada' });
      expect(answered.status).toBe(200);
      expect(await answered.json()).toEqual({ id: 7, limit: 3, name: 'ada' });
      expect(await (await post('/lazy/8', { name: 'bob' })).json()).toEqual({ id: 8, limit: 10, name: 'bob' });
      expect((await post('/lazy/x', { name: 'ada' })).status).toBe(400);
    });
  });

  it('one that cannot compile is named by compileSchemas(), and its route answers 500 without taking the app down', async () => {
    const routes = moduleWithRoutes('broken', (app) => {
      app.post('/broken', { schema: { body: { type: 'object', properties: { a: { type: 'no-such-type' } } } } }, async () => ({ ok: true }));
      app.get('/fine', async () => ({ ok: true }));
    });
    await withWorkyard([routes], async (wy) => {
      expect((await fetch(`${wy.baseUrl}/broken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(500);
      expect((await fetch(`${wy.baseUrl}/fine`)).status).toBe(200);
      await expect(wy.workyard.compileSchemas()).rejects.toThrow(/^the schema of POST \/broken does not compile: /);
    });
  });
});
