// The operator's task routes (#18): GET /tasks (filters, cursor, 400 naming the field), dead tasks
// with their stack and runs, POST /tasks/{id}/retry and POST /tasks/retry. Admin only. (The queue
// drivers' own behaviour is in queue-two-jobs.conformance.ts; this is the HTTP surface, on SQLite.)
import type { InjectOptions } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import type { WorkyardModule } from '../../app-context.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { tasksModule } from './index.js';

const KEY = 'operator-key';
const admin = { authorization: `Bearer ${KEY}` };

// A job that fails while `failing` is set, then waits until the test lets it finish.
let failing = true;
const gates = new Map<string, () => void>();
const flakyModule: WorkyardModule = {
  name: 'flaky',
  create: () => ({
    jobs(queue) {
      queue.process<unknown, string>(
        'test.flaky',
        async (job) => {
          if (failing) throw new Error(`run ${job.attempt} failed`);
          await new Promise<void>((resolve) => gates.set(job.id, resolve));
          return 'finally';
        },
        { concurrency: 4 },
      );
    },
  }),
};

const poll = { timeout: 10_000, interval: 20 };

describe('operator task routes', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_API_KEY: KEY }, { modules: [tasksModule, flakyModule] }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject({ ...options, headers: { ...admin, ...options.headers } });
  const queue = () => wy.workyard.ctx.queue;

  it('needs the API key', async () => {
    for (const [method, url, payload] of [['GET', '/tasks'], ['POST', '/tasks/x/retry'], ['POST', '/tasks/retry', { name: 'test.flaky', state: 'failed' }]] as const) {
      const res = await wy.workyard.app.inject({ method, url, payload });
      expect(res.statusCode).toBe(401);
    }
  });

  it('lists tasks newest first, filtered, page by page, each as GET /tasks/{id} shows it', async () => {
    const name = `test.idle-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await queue().enqueue(name, { i }, { delayMs: 60_000, group: i % 2 ? 'odd' : 'even' })).id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await inject({ url: '/tasks', query: { name, limit: '2', ...(cursor ? { cursor } : {}) } });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.tasks.length).toBeLessThanOrEqual(2);
      for (const task of body.tasks) expect(task).toEqual((await inject({ url: `/tasks/${task.id}` })).json());
      seen.push(...body.tasks.map((task: { id: string }) => task.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const odd = (await inject({ url: '/tasks', query: { name, group: 'odd', state: 'delayed' } })).json();
    expect(odd.tasks.map((task: { id: string }) => task.id)).toEqual([ids[3], ids[1]]);
    expect(odd.next_cursor).toBeNull();
    expect(odd.tasks[0]).toMatchObject({ name, state: 'delayed', group: 'odd', dead: false, stack: null, attempt_history: [] });

    const created = (await queue().getJob(ids[2]))!.createdAt;
    const after = (await inject({ url: '/tasks', query: { name, created_after: new Date(created).toISOString() } })).json();
    expect(after.tasks.map((task: { id: string }) => task.id)).toEqual([ids[4], ids[3], ids[2]]);
    const before = (await inject({ url: '/tasks', query: { name, created_before: new Date(created).toISOString() } })).json();
    expect(before.tasks.map((task: { id: string }) => task.id)).toEqual([ids[1], ids[0]]);
    expect((await inject({ url: '/tasks', query: { name, state: 'completed' } })).json()).toEqual({ tasks: [], next_cursor: null });
  });

  it('answers 400 naming the query parameter that is wrong', async () => {
    for (const [query, field] of [
      [{ state: 'stuck' }, 'state'],
      [{ created_after: 'yesterday' }, 'created_after'],
      [{ created_before: '2030-02-30T00:00:00Z' }, 'created_before'],
      [{ cursor: 'not-one-of-ours' }, 'cursor'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '501' }, 'limit'],
      [{ name: 'a:b' }, 'name'],
    ] as const) {
      const res = await inject({ url: '/tasks', query });
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
    }
  });

  it('shows a dead task with its stack and runs, retries it (409 once it is not failed, 404 unknown), and it completes', async () => {
    failing = true;
    const { id } = await queue().enqueue('test.flaky', null, { attempts: 2, backoffMs: 10 });
    await queue().waitForFinish(id, 10_000);
    const dead = (await inject({ url: `/tasks/${id}` })).json();
    expect(dead).toMatchObject({ state: 'failed', dead: true, error: 'run 2 failed', attempts: 2 });
    expect(dead.stack).toContain('run 2 failed');
    expect(dead.attempt_history.map((run: { attempt: number; error: string }) => [run.attempt, run.error])).toEqual([
      [1, 'run 1 failed'],
      [2, 'run 2 failed'],
    ]);
    for (const run of dead.attempt_history) expect(Date.parse(run.finished_at)).toBeGreaterThanOrEqual(Date.parse(run.started_at));
    const listed = (await inject({ url: '/tasks', query: { name: 'test.flaky', state: 'failed' } })).json();
    expect(listed.tasks.find((task: { id: string }) => task.id === id)).toEqual(dead);

    failing = false;
    const retried = await inject({ method: 'POST', url: `/tasks/${id}/retry` });
    expect(retried.statusCode).toBe(200);
    expect(['queued', 'active']).toContain(retried.json().state);
    expect(retried.json()).toMatchObject({ id, dead: false, error: null, stack: null });
    await vi.waitUntil(() => gates.has(id), poll);
    const running = (await inject({ url: `/tasks/${id}` })).json();
    expect(running.attempt_history).toHaveLength(3);
    expect(running.attempt_history[2]).toMatchObject({ attempt: 3, finished_at: null, error: null });
    expect((await inject({ method: 'POST', url: `/tasks/${id}/retry` })).statusCode).toBe(409);
    gates.get(id)!();
    expect(await queue().waitForFinish(id, 10_000)).toMatchObject({ state: 'completed', result: 'finally', attempts: 3 });
    const conflict = await inject({ method: 'POST', url: `/tasks/${id}/retry` });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('conflict');
    expect((await inject({ method: 'POST', url: '/tasks/no-such-task/retry' })).statusCode).toBe(404);
  });

  it('retries every failed task of a name that failed since failed_after, answering how many', async () => {
    failing = true;
    const first = await queue().enqueue('test.flaky', null);
    await queue().waitForFinish(first.id, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = await Promise.all([0, 1].map(() => queue().enqueue('test.flaky', null)));
    for (const job of later) await queue().waitForFinish(job.id, 10_000);
    failing = false;
    const some = await inject({ method: 'POST', url: '/tasks/retry', payload: { name: 'test.flaky', state: 'failed', failed_after: since } });
    expect(some.statusCode).toBe(200);
    expect(some.json()).toEqual({ retried: 2 });
    for (const job of later) await vi.waitUntil(() => gates.has(job.id), poll);
    expect((await queue().getJob(first.id))!.state).toBe('failed');
    const rest = await inject({ method: 'POST', url: '/tasks/retry', payload: { name: 'test.flaky', state: 'failed' } });
    expect(rest.json()).toEqual({ retried: 1 });
    await vi.waitUntil(() => gates.has(first.id), poll);
    for (const job of [first, ...later]) gates.get(job.id)!();
    expect((await inject({ method: 'POST', url: '/tasks/retry', payload: { name: 'test.flaky', state: 'failed' } })).json()).toEqual({ retried: 0 });
  });

  it('answers 400 naming the body field of a bad bulk retry', async () => {
    for (const [payload, field] of [
      [{ name: 'test.flaky', state: 'completed' }, 'state'],
      [{ name: 'test.flaky', state: 'failed', failed_after: 'last week' }, 'failed_after'],
      [{ state: 'failed' }, 'name'],
      [{ name: 'bad name', state: 'failed' }, 'name'],
    ] as const) {
      const res = await inject({ method: 'POST', url: '/tasks/retry', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
    }
  });
});
