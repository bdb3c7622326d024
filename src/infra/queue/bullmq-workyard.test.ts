// Workyard with WORKYARD_REDIS_URL set runs its queue on BullMQ: /readyz names redis and the
// driver, and the task API reads, streams and cancels BullMQ jobs (queued or running) by id alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tasksModule } from '../../modules/tasks/index.js';
import { deleteRedisPrefix } from '../../../test/support/redis-keys.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';

const ok = await needService('redis');

describe.skipIf(!ok)('Workyard on the BullMQ driver', () => {
  const prefix = uniqueRedisPrefix('workyard');
  let wy: TestWorkyard;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    wy = await startTestWorkyard(
      { WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix },
      {
        modules: [
          tasksModule,
          {
            name: 'test-jobs',
            create: () => ({
              jobs: (queue) =>
                queue.process<number, number>('slow-double', async (job) => {
                  await job.reportProgress(50);
                  await gate;
                  return job.data * 2;
                }),
            }),
          },
        ],
      },
    );
  });
  afterAll(async () => {
    release();
    await wy?.close();
    await deleteRedisPrefix(redisUrl, prefix);
  });

  it('/readyz reports redis up and the bullmq driver', async () => {
    const response = await fetch(`${wy.baseUrl}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { drivers: Record<string, string>; dependencies: { name: string; status: string }[] };
    expect(body.drivers.queue).toBe('bullmq');
    expect(body.dependencies).toContainEqual(expect.objectContaining({ name: 'redis', status: 'up' }));
  });

  it('GET /tasks/:id follows a job; DELETE cancels a queued one (200), a running one (202) and refuses a finished one (409)', async () => {
    const queue = wy.workyard.ctx.queue;
    const running = await queue.enqueue('slow-double', 21, { attempts: 2 });
    const status = async (id: string) => ((await (await fetch(`${wy.baseUrl}/tasks/${id}`)).json()) as { status: string }).status;
    await expect.poll(() => status(running.id), { timeout: 10_000 }).toBe('active');
    const cancelling = await fetch(`${wy.baseUrl}/tasks/${running.id}`, { method: 'DELETE' });
    expect(cancelling.status).toBe(202);
    expect(await cancelling.json()).toMatchObject({ id: running.id, status: 'cancelled', attempts: 1 });

    const queued = await queue.enqueue('slow-double', 1, { jobId: '12345', delayMs: 60_000 });
    const cancelled = await fetch(`${wy.baseUrl}/tasks/12345`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ id: queued.id, status: 'cancelled' });
    expect((await fetch(`${wy.baseUrl}/tasks/no-such-task`)).status).toBe(404);

    const finishing = await queue.enqueue('slow-double', 21);
    await expect.poll(() => status(finishing.id), { timeout: 10_000 }).toBe('active');
    release();
    const done = await queue.waitForFinish(finishing.id, 10_000);
    expect(done).toMatchObject({ state: 'completed', result: 42 });
    expect(await (await fetch(`${wy.baseUrl}/tasks/${finishing.id}`)).json()).toMatchObject({ status: 'completed', result: 42, progress: 50, attempts: 1 });
    expect((await fetch(`${wy.baseUrl}/tasks/${finishing.id}`, { method: 'DELETE' })).status).toBe(409);
    // the cancelled run's late result was dropped
    expect(await (await fetch(`${wy.baseUrl}/tasks/${running.id}`)).json()).toMatchObject({ status: 'cancelled', result: null, attempts: 1 });
  });
});
