// A sum task cancelled while its delay_ms runs (DELETE /tasks/:id): its handler stops waiting at
// once, the task ends cancelled within a second and reads as failed, saying it was cancelled
// while it ran.
import { describe, expect, it, vi } from 'vitest';
import { JobCancelledError } from '../../infra/queue/contract.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { tasksModule } from '../tasks/index.js';
import { computeModule } from './index.js';
import { SUM_JOB } from './jobs.js';

describe('cancelling a running sum task', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({}, { modules: [tasksModule, computeModule] }));

  it('stops its delay_ms wait and ends cancelled within a second', async () => {
    const posted = await wy.workyard.app.inject({ method: 'POST', url: '/async/post_task', payload: { numbers: [1, 2], delay_ms: 60_000 } });
    expect(posted.statusCode).toBe(202);
    const id: string = posted.json().session_id;
    await vi.waitUntil(async () => (await wy.workyard.ctx.queue.getJob(id))?.state === 'active', { timeout: 10_000, interval: 20 });
    const cancelledAt = Date.now();
    const res = await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${id}` });
    expect(res.statusCode, res.body).toBe(202);
    const done = await wy.workyard.ctx.queue.waitForFinish(id, 5_000);
    expect(done).toMatchObject({ name: SUM_JOB, state: 'cancelled', result: null });
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    const result = await wy.workyard.app.inject({ url: `/async/get_task_result/${id}` });
    expect(result.json()).toMatchObject({ session_id: id, status: 'failed', error: 'the task was cancelled while it ran' });
  });

  it('the handler itself gives up the wait at once when its signal aborts with a cancel', async () => {
    // the handler as the worker runs it, with a signal the test aborts as a cancel does
    let handler!: (job: object) => Promise<unknown>;
    const queue = new Proxy(wy.workyard.ctx.queue, {
      get: (target, property, receiver) => (property === 'process' ? (_name: string, h: typeof handler) => void (handler = h) : Reflect.get(target, property, receiver)),
    });
    const { computeJobs } = await import('./jobs.js');
    const pruner = computeJobs(queue, wy.workyard.ctx, wy.workyard.instanceOf(computeModule).store);
    await pruner.stop();
    const abort = new AbortController();
    const run = handler({ id: 'cancel-direct', name: SUM_JOB, data: { numbers: [1], delay_ms: 60_000 }, attempt: 1, runAt: Date.now(), signal: abort.signal, reportProgress: async () => {}, log: async () => {} });
    const abortedAt = Date.now();
    abort.abort(new JobCancelledError('cancel-direct'));
    // node's timers give up with an AbortError whose cause is the signal's reason
    await expect(run).rejects.toMatchObject({ name: 'AbortError', cause: expect.any(JobCancelledError) });
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
  });
});
