// The queued save on the SQL queue (over SQLite and over PostgreSQL) and on BullMQ (records in
// PostgreSQL): the job id is the row id, so a job that runs again stores no second copy; and the
// grouped writes answer each request only once its own row is committed.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FEEDBACK_SAVE_JOB, type FeedbackSaveJob } from './jobs.js';
import { FeedbackStore } from './store.js';
import { type FeedbackWorkyard, startFeedbackWorkyard, validFeedback } from '../../../test/support/feedback.js';
import { driverMatrix } from '../../../test/support/drivers.js';
import { tablesOf } from '../../../test/support/tables.js';

const setups = await driverMatrix();

for (const driver of setups) {
  const { dialect, queue, available } = driver;
  describe.skipIf(!available)(`feedback save jobs, ${queue} queue, records in ${dialect}`, () => {
    let wy: FeedbackWorkyard;
    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver);
      expect(wy.workyard.ctx.queue.driver).toBe(queue);
    });
    afterAll(() => wy?.close());

    const job = (name: string): Omit<FeedbackSaveJob, 'spam'> => ({ name, email: 'q@example.com', message: `from ${name}`, rating: 2, created_at: Date.now() });
    const rowsWithId = async (id: string) => tablesOf(wy.workyard.ctx.database).selectFrom('feedback_entries').selectAll().where('id', '=', id).execute();

    it('a queued post is a task at /tasks/:id that completes with its row stored', async () => {
      const res = await wy.app.inject({ method: 'POST', url: '/feedback/async', headers: { 'content-type': 'application/json' }, payload: validFeedback });
      expect(res.statusCode).toBe(202);
      const id = res.json().task_id;
      const task = await vi.waitUntil(async () => { const t = (await wy.app.inject({ url: `/tasks/${id}` })).json(); return t.status === 'completed' && t; }, { timeout: 10_000 });
      expect(task).toMatchObject({ id, name: FEEDBACK_SAVE_JOB, result: { id, stored: true } });
      expect(await rowsWithId(id)).toHaveLength(1);
    });

    it('a job that runs again after its row was stored stores no second copy and reports it', async () => {
      const id = '11111111-2222-4333-8444-555555555555';
      // what a first run that was killed after its insert, before its outcome was recorded, leaves behind
      await new FeedbackStore(wy.workyard.ctx.database).insert([{ id, ...job('first run'), via: 'queued' }]);
      await wy.workyard.ctx.queue.enqueue(FEEDBACK_SAVE_JOB, job('second run'), { jobId: id });
      const finished = await wy.workyard.ctx.queue.waitForFinish(id, 10_000);
      expect(finished).toMatchObject({ state: 'completed', result: { id, stored: false } });
      const rows = await rowsWithId(id);
      expect(rows).toHaveLength(1);
      expect(rows[0].message).toBe('from first run');
    });

    it('the same job id enqueued twice is one job and one row', async () => {
      const id = '22222222-3333-4444-8555-666666666666';
      await wy.workyard.ctx.queue.enqueueBulk([
        { name: FEEDBACK_SAVE_JOB, data: job('a'), options: { jobId: id } },
        { name: FEEDBACK_SAVE_JOB, data: job('b'), options: { jobId: id } },
      ]);
      await wy.workyard.ctx.queue.enqueue(FEEDBACK_SAVE_JOB, job('c'), { jobId: id });
      const finished = await wy.workyard.ctx.queue.waitForFinish(id, 10_000);
      expect(finished.result).toEqual({ id, stored: true });
      expect(await rowsWithId(id)).toHaveLength(1);
    });

    it('saves 300 concurrent requests on each path, answering each only once its row is committed', async () => {
      const before = await wy.countRows();
      const post = (path: string, i: number) =>
        wy.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: { ...validFeedback, name: `Burst ${i}` } });
      // The checks read through a few connections of the app's pool, not 300 at once.
      let reading = Promise.resolve();
      const syncIds = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const res = await post('/feedback/sync', i);
          expect(res.statusCode).toBe(201);
          const id = res.json().id;
          // read from another statement as soon as answered: the row must already be there
          const check = reading.then(async () => expect(await rowsWithId(id)).toHaveLength(1));
          reading = check.catch(() => {});
          await check;
          return id;
        }),
      );
      expect(new Set(syncIds).size).toBe(300);
      const taskIds = await Promise.all(Array.from({ length: 300 }, async (_, i) => (await post('/feedback/async', i)).json().task_id));
      expect(new Set(taskIds).size).toBe(300);
      await expect.poll(() => wy.countRows(), { timeout: 30_000 }).toBe(before + 600);
      const counts = (await wy.workyard.ctx.queue.counts())[FEEDBACK_SAVE_JOB];
      expect(counts.failed).toBe(0);
    });
  });
}
