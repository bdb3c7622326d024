// /queues through the app: admins only, the overview's shape, pause and resume holding back and
// letting go a job name's tasks, 400 naming `name` for a name no job can have.
import type { InjectOptions } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import type { WorkyardModule } from '../../app-context.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { queuesModule } from './index.js';

const API_KEY = 'queues-test-key';
const admin = { authorization: `Bearer ${API_KEY}` };
const poll = { timeout: 10_000, interval: 20 };

const ran: string[] = [];
const echoModule: WorkyardModule = {
  name: 'echo',
  create: () => ({
    jobs(queue) {
      queue.process<number, number>('test.echo', async (job) => {
        ran.push(job.id);
        return job.data;
      });
    },
  }),
};

describe('queues API', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_API_KEY: API_KEY }, { modules: [queuesModule, echoModule] }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  it('refuses every route without the API key', async () => {
    for (const options of [{ url: '/queues' }, { method: 'POST', url: '/queues/test.echo/pause' }, { method: 'POST', url: '/queues/test.echo/resume' }] as InjectOptions[]) {
      const res = await inject(options);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatchObject({ code: 'unauthorized' });
    }
  });

  it('answers 400 naming `name` for a name no job can have', async () => {
    for (const name of ['a:b', '_hidden', 'x'.repeat(129)]) {
      const res = await inject({ method: 'POST', url: `/queues/${encodeURIComponent(name)}/pause`, headers: admin });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'name' });
      expect(res.json().error.message).toContain('name');
    }
  });

  it('pauses a job name (its tasks wait), shows it paused, and resumes it (they run)', async () => {
    const paused = await inject({ method: 'POST', url: '/queues/test.echo/pause', headers: admin });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ name: 'test.echo', paused: true });
    const job = await wy.workyard.ctx.queue.enqueue('test.echo', 7);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(ran).not.toContain(job.id);

    const list = await inject({ url: '/queues', headers: admin });
    expect(list.statusCode, list.body).toBe(200);
    const echo = list.json().queues.find((q: { name: string }) => q.name === 'test.echo');
    expect(echo).toEqual({
      name: 'test.echo',
      counts: { queued: 1, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0 },
      paused: true,
      oldest_waiting_ms: expect.any(Number),
      wait_ms: null,
      completions_per_minute: 0,
    });
    expect(echo.oldest_waiting_ms).toBeGreaterThanOrEqual(500);

    const resumed = await inject({ method: 'POST', url: '/queues/test.echo/resume', headers: admin });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ name: 'test.echo', paused: false });
    expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 10_000)).state).toBe('completed');
    await vi.waitUntil(async () => {
      const after = (await inject({ url: '/queues', headers: admin })).json().queues.find((q: { name: string }) => q.name === 'test.echo');
      return after.counts.completed === 1 && after.wait_ms !== null;
    }, poll);
    const after = (await inject({ url: '/queues', headers: admin })).json().queues.find((q: { name: string }) => q.name === 'test.echo');
    expect(after).toMatchObject({ paused: false, oldest_waiting_ms: null, completions_per_minute: 0.2 });
    expect(after.wait_ms.p50).toBeGreaterThanOrEqual(500);
  });

  it('resuming a name that has nothing answers it idle', async () => {
    const res = await inject({ method: 'POST', url: '/queues/test.nothing-here/resume', headers: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      name: 'test.nothing-here',
      counts: { queued: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0 },
      paused: false,
      oldest_waiting_ms: null,
      wait_ms: null,
      completions_per_minute: 0,
    });
  });
});
