// PostgreSQL going away under the feedback routes: every route answers 503 naming it, fast, and
// service resumes by itself when it is back. A fault proxy of this test's own stands between
// Workyard and the shared PostgreSQL, so the test cuts its own path, never the shared server.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ProxiedTestDatabase, proxiedTestDatabase } from '../../../test/support/fault-proxy.js';
import { needService } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { feedbackModule } from './index.js';
import { validFeedback } from '../../../test/support/feedback.js';
import { tablesOf } from '../../../test/support/tables.js';

const postgresOk = await needService('postgres');

describe.skipIf(!postgresOk)('feedback while PostgreSQL is unreachable', () => {
  let wy: TestWorkyard;
  let database: ProxiedTestDatabase;

  beforeAll(async () => {
    database = await proxiedTestDatabase();
    wy = await startTestWorkyard({ WORKYARD_DATABASE_URL: database.url }, { modules: [tasksModule, feedbackModule] });
  });
  afterAll(async () => {
    database?.proxy.restore();
    await wy?.close();
    await database?.close();
  });

  const post = (path: string) => wy.workyard.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: validFeedback });

  it('answers 503 naming postgres within a second or so, on every route, then recovers by itself', async () => {
    expect((await post('/feedback/sync')).statusCode).toBe(201);
    database.proxy.cut();
    for (const request of [() => post('/feedback/sync'), () => post('/feedback/async'), () => wy.workyard.app.inject({ url: '/feedback.json' }), () => wy.workyard.app.inject({ url: '/feedback', headers: { accept: 'application/json' } })]) {
      const started = performance.now();
      const res = await request();
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({ code: 'dependency_unavailable', dependency: 'postgres' });
      expect(res.headers['retry-after']).toBe('1');
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    // the page, to a browser: a 503 page saying why
    const page = await wy.workyard.app.inject({ url: '/feedback' });
    expect(page.statusCode).toBe(503);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('postgres is unavailable');
    expect(page.headers['retry-after']).toBe('1');
    database.proxy.restore();
    const back = await vi.waitUntil(async () => { const res = await post('/feedback/sync'); return res.statusCode === 201 && res; }, { timeout: 15_000 });
    const id = back.json().id;
    expect((await wy.workyard.app.inject({ url: '/feedback.json' })).json().items.map((i: { id: string }) => i.id)).toContain(id);
    // what was refused was not stored: the first save and the one after recovery only
    const rows = await tablesOf(wy.workyard.ctx.database).selectFrom('feedback_entries').select('id').execute();
    expect(rows).toHaveLength(2);
  });
});
