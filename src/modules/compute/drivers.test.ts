// Sync and async sums on every queue driver: answers, statuses, the timeout path, failures, and
// results that outlive a restart and the queue's retention.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { type DriverUnderTest, driverMatrix } from '../../../test/support/drivers.js';

const SYNC_TIMEOUT_MS = 2_000;

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`compute on the ${driver.name} queue`, () => {
    let setup: DriverUnderTest;
    let wy: TestWorkyard;
    let dataDir: string;
    const start = async () => {
      wy = await startTestWorkyard({ ...setup.env, WORKYARD_SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS), ...(dataDir ? { WORKYARD_DATA_DIR: dataDir } : {}) });
      dataDir = wy.dataDir;
    };
    beforeAll(async () => {
      setup = await driver.setUp();
      await start();
    });
    afterAll(async () => {
      await wy?.close();
      await setup?.cleanup();
    });

    const post = (url: string, body: object) => wy.workyard.app.inject({ method: 'POST', url, payload: body });
    const result = async (id: string) => {
      const res = await wy.workyard.app.inject({ url: `/async/get_task_result?session_id=${encodeURIComponent(id)}` });
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    const untilFinished = async (id: string) => {
      const seen = new Set<string>();
      const ended = async () => {
        const body = await result(id);
        seen.add(body.status);
        return (body.status === 'done' || body.status === 'failed') && body;
      };
      return { body: await vi.waitUntil(ended, { timeout: 10_000, interval: 20 }), seen };
    };

    it('answers /sync/sum with the sum computed by a worker, then readable by id on both routes', async () => {
      const res = await post('/sync/sum', { numbers: [1, 2.5, -3], delay_ms: 0 });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toEqual({ result: 0.5, task_id: expect.any(String) });
      const expected = { session_id: body.task_id, status: 'done', result: 0.5, error: null };
      expect(await result(body.task_id)).toEqual(expected);
      expect((await wy.workyard.app.inject({ url: `/async/get_task_result/${body.task_id}` })).json()).toEqual(expected);
      // the worker ran it through the queue: the task API sees the job
      const job = await wy.workyard.ctx.queue.getJob(body.task_id);
      expect(job).toMatchObject({ name: 'compute.sum', state: 'completed', result: 0.5 });
    });

    it('sums with compensation and accepts args', async () => {
      expect((await post('/sync/sum', { numbers: [1e16, 1, -1e16] })).json().result).toBe(1);
      expect((await post('/sync/sum', { args: Array(10).fill(0.1) })).json().result).toBe(1);
      expect((await post('/sync/sum', { numbers: [1e308, 1e308, -1e308] })).json().result).toBe(1e308);
    });

    it('answers /async/post_task with 202 and a session id whose status goes running → done', async () => {
      const res = await post('/async/post_task', { numbers: [2, 3], delay_ms: 400 });
      expect(res.statusCode).toBe(202);
      const { session_id: id } = res.json();
      expect(id).toEqual(expect.any(String));
      expect(['pending', 'running']).toContain((await result(id)).status);
      const { body, seen } = await untilFinished(id);
      expect(body).toEqual({ session_id: id, status: 'done', result: 5, error: null });
      expect(seen.has('running')).toBe(true);
    });

    it('reports a sum beyond the range of a double as failed: 400 naming numbers on /sync, failed by id', async () => {
      const res = await post('/sync/sum', { numbers: [1.7e308, 1.7e308] });
      expect(res.statusCode).toBe(400);
      const error = res.json().error;
      expect(error).toMatchObject({ code: 'validation_failed', field: 'numbers', task_id: expect.any(String) });
      expect(await result(error.task_id)).toEqual({ session_id: error.task_id, status: 'failed', result: null, error: expect.stringContaining('range of a double') });
    });

    it('answers 504 with the task id past the sync timeout, and the result stays available by id', async () => {
      const started = Date.now();
      const res = await post('/sync/sum', { numbers: [40, 2], delay_ms: SYNC_TIMEOUT_MS + 1_000 });
      const waited = Date.now() - started;
      expect(res.statusCode).toBe(504);
      expect(waited).toBeGreaterThanOrEqual(SYNC_TIMEOUT_MS - 50);
      expect(waited).toBeLessThan(SYNC_TIMEOUT_MS + 900);
      const error = res.json().error;
      expect(error).toEqual({ code: 'timeout', message: expect.any(String), task_id: expect.any(String) });
      expect((await result(error.task_id)).status).toBe('running');
      const { body } = await untilFinished(error.task_id);
      expect(body).toEqual({ session_id: error.task_id, status: 'done', result: 42, error: null });
    });

    it('keeps results across a restart, and after the queue has dropped the jobs', async () => {
      const done = (await post('/sync/sum', { numbers: [0.1, 0.2, 0.3] })).json();
      const failed = (await post('/sync/sum', { numbers: [-1.7e308, -1.7e308] })).json().error;
      await wy.close();
      await start();
      const afterRestart = await result(done.task_id);
      expect(afterRestart).toEqual({ session_id: done.task_id, status: 'done', result: done.result, error: null });

      await setup.dropQueuedJobs(wy);
      expect(await wy.workyard.ctx.queue.getJob(done.task_id)).toBeNull();
      expect(await result(done.task_id)).toEqual(afterRestart);
      expect(await result(failed.task_id)).toMatchObject({ status: 'failed', error: expect.stringContaining('range of a double') });
    });

    it('keeps a task queued while no worker runs pending (or failed once cancelled), and finishes it once workers run', async () => {
      await wy.close();
      wy = await startTestWorkyard({ ...setup.env, WORKYARD_DATA_DIR: dataDir }, { worker: false });
      const { session_id: id } = (await post('/async/post_task', { numbers: [7, 8] })).json();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await result(id)).toEqual({ session_id: id, status: 'pending', result: null, error: null });

      // A task cancelled before it ran (DELETE /tasks/:id) reads as failed, and its waiter gets a 409.
      const { session_id: cancelledId } = (await post('/async/post_task', { numbers: [1] })).json();
      const waiting = post('/sync/sum', { numbers: [2] });
      let waitingId: string | undefined;
      for (let i = 0; i < 100 && !waitingId; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        waitingId = (await wy.workyard.ctx.queue.listRecent({ name: 'compute.sum', limit: 10 })).find((job) => (job.data as { numbers: number[] }).numbers[0] === 2)?.id;
      }
      for (const taskId of [cancelledId, waitingId!]) {
        expect((await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${taskId}` })).statusCode).toBe(200);
      }
      const answer = await waiting;
      expect(answer.statusCode).toBe(409);
      expect(answer.json().error).toMatchObject({ code: 'conflict', task_id: waitingId });
      expect(await result(cancelledId)).toEqual({ session_id: cancelledId, status: 'failed', result: null, error: 'the task was cancelled before it ran' });
      await wy.close();
      await start();
      const { body } = await untilFinished(id);
      expect(body).toEqual({ session_id: id, status: 'done', result: 15, error: null });
    });
  });
}
