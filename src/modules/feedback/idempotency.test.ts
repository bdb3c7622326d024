// Idempotency-Key on the two feedback posts, on SQLite and PostgreSQL with the SQL queue and on
// PostgreSQL with BullMQ: a retry gets the first answer and saves or queues nothing again; a key
// reused for another submission is 422; a key still being processed is 409; old keys are pruned.
// A second Workyard on the same database stands for a second API process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../app-context.js';
import { startTestWorkyard, type TestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { IdempotencyKeyPruner } from './idempotency-pruning.js';
import { IdempotencyStore, KEYS_TABLE } from './idempotency-store.js';
import { fingerprintOf } from './idempotency.js';
import { feedbackModule } from './index.js';
import { FEEDBACK_SAVE_JOB, SAVE_JOB_RETRIES } from './jobs.js';
import { FeedbackStore } from './store.js';
import { type FeedbackWorkyard, openFormSession, startFeedbackWorkyard, validFeedback } from '../../../test/support/feedback.js';
import { driverMatrix } from '../../../test/support/drivers.js';
import { tablesOf } from '../../../test/support/tables.js';

const setups = await driverMatrix();
const HOUR = 3_600_000;
let keyCount = 0;
const newKey = () => `key-${process.pid}-${Date.now()}-${++keyCount}`;

/**
 * The rows once no save is queued or running: an earlier test's queued save landing midway would
 * count as this test's (a CI run under load saw 8 rows where 7 were due).
 */
async function settledRows(wy: FeedbackWorkyard): Promise<number> {
  await expect
    .poll(async () => Object.values(await wy.workyard.ctx.queue.counts()).reduce((n, c) => n + (c.queued ?? 0) + (c.active ?? 0) + (c.delayed ?? 0), 0), { timeout: 20_000 })
    .toBe(0);
  return wy.countRows();
}

for (const driver of setups) {
  const { dialect, queue, available } = driver;
  describe.skipIf(!available)(`Idempotency-Key on feedback posts, ${queue} queue, records in ${dialect}`, () => {
    let wy: FeedbackWorkyard;
    let other: TestWorkyard;
    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver);
      const ctx = wy.workyard.ctx;
      // another API process: same database (and same Redis prefix for BullMQ), its own service
      other = await startTestWorkyard(
        { WORKYARD_DATA_DIR: wy.dataDir, WORKYARD_DATABASE_URL: ctx.config.databaseUrl, WORKYARD_REDIS_URL: ctx.config.redisUrl, WORKYARD_REDIS_PREFIX: ctx.config.redisPrefix },
        { modules: [tasksModule, feedbackModule] },
      );
    });
    afterAll(async () => {
      await other?.close();
      await wy?.close();
    });

    const post = (path: string, body: unknown, key?: string, app: App = wy.app) =>
      app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload: JSON.stringify(body) });
    const savedJobs = async () => Object.values((await wy.workyard.ctx.queue.counts())[FEEDBACK_SAVE_JOB] ?? {}).reduce((sum, n) => sum + n, 0);
    const keys = () => new IdempotencyStore(wy.workyard.ctx.database);
    const expectError = (res: LightMyRequestResponse, status: number, code: string) => {
      expect(res.statusCode).toBe(status);
      expect(res.json().error).toMatchObject({ code, field: 'idempotency-key' });
    };

    it.each([
      ['empty', ''],
      ['256 characters', 'k'.repeat(256)],
      ['a tab (not printable)', 'a\tb'],
      ['a quoted string with a bad escape', '"a\\nb"'],
    ])('refuses a key that is %s with 400 naming idempotency-key, saving nothing', async (_what, key) => {
      const rows = await settledRows(wy);
      const jobs = await savedJobs();
      for (const path of ['/feedback/sync', '/feedback/async']) expectError(await post(path, validFeedback, key), 400, 'validation_failed');
      expect(await wy.countRows()).toBe(rows);
      expect(await savedJobs()).toBe(jobs);
    });

    it('accepts 255 printable characters and the quoted form of the draft', async () => {
      expect((await post('/feedback/sync', validFeedback, '~'.repeat(255))).statusCode).toBe(201);
      const key = newKey();
      const quoted = await post('/feedback/sync', validFeedback, `"${key}"`);
      expect(quoted.statusCode).toBe(201);
      // the quoted and the bare form are the same key
      const bare = await post('/feedback/sync', validFeedback, key);
      expect(bare.json()).toEqual(quoted.json());
      expect(bare.headers['idempotent-replayed']).toBe('true');
    });

    it('sync: a retry after a lost answer gets the first answer again, and one row is saved', async () => {
      const key = newKey();
      const rows = await settledRows(wy);
      const first = await post('/feedback/sync', validFeedback, key);
      expect(first.statusCode).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      // the answer never reached the client: it retries, here and through another process
      for (const app of [wy.app, other.workyard.app]) {
        const retry = await post('/feedback/sync', validFeedback, key, app);
        expect(retry.statusCode).toBe(201);
        expect(retry.json()).toEqual(first.json());
        expect(retry.headers['idempotent-replayed']).toBe('true');
      }
      expect(await wy.countRows()).toBe(rows + 1);
      const stored = await keys().find(key);
      expect(stored).toMatchObject({ resourceId: first.json().id, answer: { status: 201, body: first.json() } });
    });

    it('sync: a row and its key are committed together or not at all', async () => {
      const store = new FeedbackStore(wy.workyard.ctx.database);
      const key = newKey();
      const now = Date.now();
      const record = { key, fingerprint: 'f', resourceId: crypto.randomUUID(), answer: { status: 201, body: {} }, createdAt: now, claimedAt: now };
      const good = { id: crypto.randomUUID(), ...validFeedback, via: 'sync' as const, created_at: now };
      // a row the database refuses (NOT NULL) fails its batch's transaction: the key is not kept either
      const refused = { ...good, id: record.resourceId, name: null as unknown as string };
      await expect(store.insert([good, refused], [record])).rejects.toThrow();
      expect(await keys().find(key)).toBeUndefined();
      expect(await tablesOf(wy.workyard.ctx.database).selectFrom('feedback_entries').select('id').where('id', '=', good.id).execute()).toHaveLength(0);
    });

    it('async: a retry gets the first task id again, and one job is queued', async () => {
      const key = newKey();
      const jobs = await savedJobs();
      const first = await post('/feedback/async', validFeedback, key);
      expect(first.statusCode).toBe(202);
      for (const app of [wy.app, other.workyard.app]) {
        const retry = await post('/feedback/async', validFeedback, key, app);
        expect(retry.statusCode).toBe(202);
        expect(retry.json()).toEqual(first.json());
        expect(retry.headers.location).toBe(`/tasks/${first.json().task_id}`);
        expect(retry.headers['idempotent-replayed']).toBe('true');
      }
      expect(await savedJobs()).toBe(jobs + 1);
      await wy.workyard.ctx.queue.waitForFinish(first.json().task_id, 10_000);
    });

    it('async: a retry after the job was queued but the answer not recorded queues no second job', async () => {
      // what a request leaves behind when it died (or answered 503) between its enqueue and recording the answer
      const key = newKey();
      const jobId = crypto.randomUUID();
      const input = { name: 'Grace', email: 'grace@example.com', message: 'Queued once.', rating: 4 };
      await wy.workyard.ctx.queue.enqueue(FEEDBACK_SAVE_JOB, { ...input, created_at: Date.now() }, { jobId, ...SAVE_JOB_RETRIES });
      await keys().claim({ key, fingerprint: fingerprintOf('POST /feedback/async', input), resourceId: jobId, answer: null, createdAt: Date.now(), claimedAt: Date.now() });
      const jobs = await savedJobs();

      // its claim is fresh: another request with the key may still be at work
      const early = await post('/feedback/async', input, key);
      expectError(early, 409, 'conflict');
      expect(early.headers['retry-after']).toBe('1');

      // released (or past its lease): the retry takes it over with the claim's job id
      await keys().release(key);
      const retry = await post('/feedback/async', input, key);
      expect(retry.statusCode).toBe(202);
      expect(retry.json()).toEqual({ task_id: jobId });
      expect(await savedJobs()).toBe(jobs);
      expect((await keys().find(key))?.answer).toEqual({ status: 202, body: { task_id: jobId }, location: `/tasks/${jobId}` });
      expect((await post('/feedback/async', input, key)).headers['idempotent-replayed']).toBe('true');
    });

    it('a key reused with another submission, or on the other route, is 422 idempotency_key_reused', async () => {
      const key = newKey();
      const rows = await settledRows(wy);
      const jobs = await savedJobs();
      expect((await post('/feedback/sync', validFeedback, key)).statusCode).toBe(201);
      expectError(await post('/feedback/sync', { ...validFeedback, message: 'Something else.' }, key), 422, 'idempotency_key_reused');
      expectError(await post('/feedback/sync', { ...validFeedback, rating: null }, key, other.workyard.app), 422, 'idempotency_key_reused');
      expectError(await post('/feedback/async', validFeedback, key), 422, 'idempotency_key_reused');
      const asyncKey = newKey();
      expect((await post('/feedback/async', validFeedback, asyncKey)).statusCode).toBe(202);
      expectError(await post('/feedback/async', { ...validFeedback, name: 'Someone else' }, asyncKey), 422, 'idempotency_key_reused');
      expectError(await post('/feedback/sync', validFeedback, asyncKey), 422, 'idempotency_key_reused');
      expect(await wy.countRows()).toBeGreaterThanOrEqual(rows + 1);
      expect(await savedJobs()).toBe(jobs + 1);
    });

    it('the same submission as JSON and as a form is the same request: the first answer is replayed', async () => {
      const form = await openFormSession(wy.app);
      const key = newKey();
      const rows = await settledRows(wy);
      const formPost = () =>
        wy.app.inject({
          method: 'POST',
          url: '/feedback/sync',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, 'idempotency-key': key },
          payload: new URLSearchParams({ name: validFeedback.name, email: validFeedback.email, message: validFeedback.message, rating: '5', _csrf: form.token }).toString(),
        });
      const first = await formPost();
      expect(first.statusCode).toBe(303);
      expect(first.headers.location).toMatch(/^\/feedback\?saved=[0-9a-f-]{36}$/);
      const retry = await formPost();
      expect(retry.statusCode).toBe(303);
      expect(retry.headers.location).toBe(first.headers.location);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      const json = await post('/feedback/sync', validFeedback, key);
      expect(json.statusCode).toBe(303);
      expect(await wy.countRows()).toBe(rows + 1);
    });

    for (const path of ['/feedback/sync', '/feedback/async']) {
      it(`${path}: 20 concurrent posts with one key over two processes store one entry; the others get 409 or the replay`, async () => {
        const key = newKey();
        const rows = await settledRows(wy);
        const jobs = await savedJobs();
        const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(path, validFeedback, key, i % 2 ? other.workyard.app : wy.app)));
        const fresh = answers.filter((res) => res.statusCode < 300 && !res.headers['idempotent-replayed']);
        expect(fresh).toHaveLength(1);
        for (const res of answers) {
          if (res.statusCode === 409) expect(res.headers['retry-after']).toBe('1');
          else expect(res.json()).toEqual(fresh[0].json());
        }
        expect(answers.filter((res) => res.statusCode === 409).length).toBeGreaterThan(0);
        if (path === '/feedback/sync') expect(await wy.countRows()).toBe(rows + 1);
        else expect(await savedJobs()).toBe(jobs + 1);
      });
    }

    it('/openapi.json documents the header and the 409 and 422 answers on both posts', async () => {
      const spec = (await wy.app.inject({ url: '/openapi.json' })).json();
      for (const path of ['/feedback/sync', '/feedback/async']) {
        const operation = spec.paths[path].post;
        expect(operation.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false }));
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['409', '422']));
      }
    });

    it('keys are pruned after the retention in bounded batches, and the key is then free for new feedback', async () => {
      const store = keys();
      const now = Date.now();
      const old = Array.from({ length: 1_100 }, (_, i) => ({ key: `old-${i}`, fingerprint: 'f', resourceId: `r-${i}`, answer: { status: 201, body: { id: `r-${i}` } }, createdAt: now - 25 * HOUR, claimedAt: now - 25 * HOUR }));
      await tablesOf(wy.workyard.ctx.database).insertInto(KEYS_TABLE).values(old.map((r) => ({ idempotency_key: r.key, fingerprint: r.fingerprint, resource_id: r.resourceId, answer: JSON.stringify(r.answer), created_at: r.createdAt, claimed_at: r.claimedAt }))).execute();
      await store.claim({ ...old[0], key: 'young', createdAt: now - 23 * HOUR, claimedAt: now - 23 * HOUR });
      const batches: number[] = [];
      const counting = Object.assign(Object.create(store), {
        pruneCreatedBefore: async (cutoff: number, limit: number) => {
          const deleted = await store.pruneCreatedBefore(cutoff, limit);
          batches.push(deleted);
          return deleted;
        },
      }) as IdempotencyStore;
      const pruner = new IdempotencyKeyPruner(counting, { retentionMs: wy.workyard.ctx.config.feedbackIdempotencyKeyRetentionMs, batchSize: 500, pauseMs: 1 });
      expect(await pruner.pruneOnce(now)).toBeGreaterThanOrEqual(1_100);
      expect(Math.max(...batches)).toBeLessThanOrEqual(500);
      expect(await store.find('old-7')).toBeUndefined();
      expect(await store.find('young')).toBeDefined();
      await pruner.stop();
      // a pruned key is a new key: the same key with other feedback is accepted
      const res = await post('/feedback/sync', { ...validFeedback, message: 'A day later.' }, 'old-7');
      expect(res.statusCode).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    });
  });
}
