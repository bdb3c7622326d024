import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const ok = await needService('postgres');

// The page must answer whatever is down, fast, and say what is missing; these run against a real
// PostgreSQL that stops answering (a lock held on the jobs table) and then disappears.
describe.skipIf(!ok)('GET /dashboard when the database does not answer (PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const wy = suiteWorkyard(async () => {
    database = await createTestDatabase();
    const started = await startTestWorkyard({ WORKYARD_DATABASE_URL: database.url, WORKYARD_DEPENDENCY_TIMEOUT_MS: '300' });
    await started.workyard.ctx.queue.enqueue('dashboard-test.idle', {});
    return started;
  }, () => database?.drop());

  it('shows the queue panels as not available within the deadline while the jobs table is locked, then recovers', async () => {
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table queue_jobs in access exclusive mode');
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the one-second cache
      const started = performance.now();
      const res = await wy.workyard.app.inject({ url: '/dashboard' });
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/data-panel="queues"><p class="unavailable"><strong>Not available<\/strong> — the job queue did not answer within 300 ms/);
      expect(res.body).toMatch(/data-panel="tasks"><p class="unavailable">/);
      const summary = (await wy.workyard.app.inject({ url: '/dashboard/summary' })).json();
      expect(summary.queues).toEqual({ available: false, reason: 'the job queue did not answer within 300 ms' });
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await wy.workyard.app.inject({ url: '/dashboard/summary' });
    // (every job name the workers run is listed, with or without jobs: it can be paused before any)
    expect(after.json().queues).toMatchObject({ available: true, jobs: expect.arrayContaining([expect.objectContaining({ name: 'dashboard-test.idle', waiting: 1 })]) });
  });

  it('still answers 200, naming the failure, once the database is gone', async () => {
    const admin = new pg.Client({ connectionString: database.url.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query(`drop database ${new URL(database.url).pathname.slice(1)} with (force)`);
    await admin.end();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const res = await wy.workyard.app.inject({ url: '/dashboard' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/data-panel="queues"><p class="unavailable"><strong>Not available<\/strong> — \S/);
  });
});
