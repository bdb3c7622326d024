// The compute.sum handler itself, run directly with a signal the test controls: the delay_ms wait
// gives up as soon as the job is aborted (a worker shutting down past its grace), and the outcome
// lands in the task record. The database is a real one, from an API-only Workyard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobContext, type JobHandler, type JobQueue, PermanentJobError } from '../../infra/queue/contract.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { SUM_CONCURRENCY, SUM_JOB, type SumJobData, type SumJobResult, computeJobs } from './jobs.js';
import { computeModule } from './index.js';
import type { ComputeTaskStore } from './store.js';
import type { TaskPruner } from './task-pruning.js';
import { SUM_OVERFLOW_MESSAGE } from './sum.js';

describe('the compute.sum job handler', () => {
  let wy: TestWorkyard;
  let handler: JobHandler<SumJobData, SumJobResult>;
  let registered: { name: string; concurrency?: number };
  let store: ComputeTaskStore;
  let pruner: TaskPruner;
  beforeAll(async () => {
    wy = await startTestWorkyard({}, { worker: false });
    // The real queue, except that the handler is handed to the test instead of to workers.
    const queue = new Proxy(wy.workyard.ctx.queue, {
      get: (target, property, receiver) =>
        property === 'process'
          ? (name: string, h: JobHandler<SumJobData, SumJobResult>, options?: { concurrency?: number }) => {
              handler = h;
              registered = { name, concurrency: options?.concurrency };
            }
          : Reflect.get(target, property, receiver),
    }) as JobQueue;
    store = wy.workyard.instanceOf(computeModule).store;
    pruner = computeJobs(queue, wy.workyard.ctx, store);
  });
  afterAll(async () => {
    await pruner?.stop();
    await wy?.close();
  });

  const job = (id: string, data: SumJobData, signal = new AbortController().signal): JobContext<SumJobData> => ({
    id, name: SUM_JOB, data, attempt: 1, runAt: Date.now(), signal, reportProgress: async () => {}, log: async () => {},
  });

  it('registers with a concurrency that lets thousands of delays wait at once', () => {
    expect(registered).toEqual({ name: 'compute.sum', concurrency: SUM_CONCURRENCY });
    expect(SUM_CONCURRENCY).toBeGreaterThanOrEqual(10_000);
  });

  it('stops waiting as soon as the job is aborted', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const run = handler(job('aborted-task', { numbers: [1, 2], delay_ms: 60_000 }, abort.signal));
    setTimeout(() => abort.abort(new Error('worker shutting down')), 50);
    const stillWaiting = new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000).unref());
    await expect(Promise.race([run, stillWaiting])).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    // nothing was recorded for it: the queue runs it again
    expect(await store.get('aborted-task')).toBeUndefined();
  });

  it('waits delay_ms, then records and returns the compensated sum', async () => {
    const started = Date.now();
    expect(await handler(job('waited-task', { numbers: [1e16, 1, -1e16], delay_ms: 200 }))).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(await store.get('waited-task')).toMatchObject({ status: 'done', result: 1, error: null });
  });

  it('records a sum beyond the double range as failed and fails the job with a PermanentJobError, so the queue does not retry it', async () => {
    const run = handler(job('overflow-task', { numbers: [1.7e308, 1.7e308], delay_ms: 0 }));
    await expect(run).rejects.toBeInstanceOf(PermanentJobError);
    await expect(run).rejects.toThrow(SUM_OVERFLOW_MESSAGE);
    expect(await store.get('overflow-task')).toMatchObject({ status: 'failed', result: null, error: expect.stringContaining('range of a double') });
  });
});
