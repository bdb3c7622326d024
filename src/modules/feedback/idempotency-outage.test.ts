// The case Idempotency-Key is for: a sync post whose row is committed, but whose answer is a 503
// because PostgreSQL's replies came back after the dependency deadline. The client cannot tell
// whether it was saved; it retries with the same key and gets the first answer, and one row is
// stored. PostgreSQL is slowed through a fault proxy of this test's own (never the shared server).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ProxiedTestDatabase, proxiedTestDatabase } from '../../../test/support/fault-proxy.js';
import { needService } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { feedbackModule } from './index.js';

const postgresOk = await needService('postgres');
const DEADLINE_MS = 300;

describe.skipIf(!postgresOk)('a sync feedback post that answered 503 after its commit, retried with its Idempotency-Key', () => {
  let database: ProxiedTestDatabase;
  let wy: TestWorkyard;
  beforeAll(async () => {
    database = await proxiedTestDatabase();
    wy = await startTestWorkyard({ WORKYARD_DATABASE_URL: database.url, WORKYARD_DEPENDENCY_TIMEOUT_MS: String(DEADLINE_MS) }, { modules: [tasksModule, feedbackModule] });
  });
  afterAll(async () => {
    database?.proxy.restore();
    await wy?.close();
    await database?.close();
  });

  const submission = { name: 'Ada', email: 'ada@example.com', message: `Saved once, answered twice (${process.pid})` };
  const post = (key: string) =>
    wy.workyard.app.inject({ method: 'POST', url: '/feedback/sync', headers: { 'content-type': 'application/json', 'idempotency-key': key }, payload: submission });
  // read directly, not through the slowed proxy
  const rowsOfSubmission = async () => {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: database.directUrl });
    await client.connect();
    try {
      return (await client.query('select id from feedback_entries where message = $1', [submission.message])).rows.map((row) => row.id as string);
    } finally {
      await client.end();
    }
  };

  it('gets the first answer again, and the feedback is stored once', async () => {
    // the pool's connection opened, the statements prepared: what is slowed below is only the post
    const warmUp = await wy.workyard.app.inject({ method: 'POST', url: '/feedback/sync', headers: { 'content-type': 'application/json' }, payload: { ...submission, message: 'warm-up' } });
    expect(warmUp.statusCode).toBe(201);
    const key = `after-503-${process.pid}`;

    // Every reply of PostgreSQL now comes 1 s late: the post gives up at the deadline with a 503,
    // while its transaction goes on and commits.
    database.proxy.slow(1_000);
    const first = await post(key);
    expect(first.statusCode).toBe(503);
    expect(first.json().error).toMatchObject({ code: 'dependency_unavailable', dependency: 'postgres' });
    await expect.poll(rowsOfSubmission, { timeout: 20_000 }).toHaveLength(1);
    database.proxy.restore();

    // The retry: the key was committed with the row, so it gets that row's answer.
    const retry = await vi.waitUntil(async () => { const res = await post(key); return res.statusCode !== 503 && res.statusCode !== 409 && res; }, { timeout: 20_000 });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const ids = await rowsOfSubmission();
    expect(ids).toEqual([retry.json().id]);
  });
});
