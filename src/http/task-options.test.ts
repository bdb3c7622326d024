// The task options on every route that creates a task: each bad value is a 400 naming its field,
// on each route, and good ones reach the queued job (seen through GET /tasks/{id}). The app runs no
// workers, so the tasks stay as they were queued.
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../test/support/workyard.js';
import { suiteWorkyard } from '../../test/support/suite-workyard.js';
import { enqueueOptionsOf } from './task-options.js';

type Options = Record<string, string | number>;

/** One route that creates a task: the request for given options, and the task id in its answer. */
interface TaskRoute {
  name: string;
  request(options: Options): InjectOptions;
  taskId(body: any): string;
}

const jsonPost = (url: string, body: object): InjectOptions => ({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

const routes: TaskRoute[] = [
  { name: 'POST /async/post_task', request: (options) => jsonPost('/async/post_task', { numbers: [1, 2], delay_ms: 5, ...options }), taskId: (body) => body.session_id },
  { name: 'POST /feedback/async', request: (options) => jsonPost('/feedback/async', { message: 'later, please', ...options }), taskId: (body) => body.task_id },
  { name: 'POST /text_tasks', request: (options) => jsonPost('/text_tasks', { url: 'https://example.com/page', ...options }), taskId: (body) => body.id },
  { name: 'POST /images_tasks', request: (options) => jsonPost('/images_tasks', { url: 'https://example.com/gallery', ...options }), taskId: (body) => body.id },
  {
    name: 'POST /test/{n}/',
    // no body: the options are query parameters, beside wait
    request: (options) => ({ method: 'POST', url: `/test/3/?${new URLSearchParams(Object.entries(options).map(([k, v]): [string, string] => [k, String(v)]))}` }),
    taskId: (body) => body.task_id,
  },
];

const IN_AN_HOUR = new Date(Date.now() + 3_600_000).toISOString();

// [what is wrong, the options sent, the field the 400 must name]
const badOptions: [string, Options, string][] = [
  ['run_at not a date-time', { run_at: 'tomorrow' }, 'run_at'],
  ['run_at without its offset', { run_at: '2030-01-01T09:00:00' }, 'run_at'],
  ['run_in_ms negative', { run_in_ms: -1 }, 'run_in_ms'],
  ['run_in_ms beyond a year', { run_in_ms: 366 * 24 * 3_600_000 }, 'run_in_ms'],
  ['run_at and run_in_ms both', { run_at: IN_AN_HOUR, run_in_ms: 1_000 }, 'run_in_ms'],
  ['priority 0', { priority: 0 }, 'priority'],
  ['priority 11', { priority: 11 }, 'priority'],
  ['priority not whole', { priority: 1.5 }, 'priority'],
  ['timeout_ms 0', { timeout_ms: 0 }, 'timeout_ms'],
  ['key empty', { key: '' }, 'key'],
  ['key too long', { key: 'k'.repeat(257) }, 'key'],
  ['key_mode unknown', { key: 'k', key_mode: 'merge' }, 'key_mode'],
  ['key_mode without key', { key_mode: 'replace' }, 'key_mode'],
];

describe('task options on every route that creates a task', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({}, { worker: false }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  for (const route of routes) {
    describe(route.name, () => {
      it.each(badOptions)('answers 400 naming the field: %s', async (_what, options, field) => {
        const res = await inject(route.request(options));
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
        expect(res.json().error.message).toContain(field);
      });

      // Needs the SQL driver's support of runAt, priorities, timeouts and keys (q-sql).
      it('queues the task with the options: delayed until run_at, with its priority, timeout and key', async () => {
        const res = await inject(route.request({ run_at: IN_AN_HOUR, priority: 2, timeout_ms: 30_000, key: `k-${route.name}` }));
        expect(res.statusCode, res.body).toBeLessThan(300);
        const task = (await inject({ url: `/tasks/${route.taskId(res.json())}` })).json();
        expect(task).toMatchObject({ state: 'delayed', status: 'delayed', priority: 2, timeout_ms: 30_000, key: `k-${route.name}`, attempts: 0 });
        expect(task.run_at).toBe(IN_AN_HOUR);
      });

      // Needs the SQL driver's support of delayMs (q-sql).
      it('queues the task run_in_ms from now, with the default priority and no timeout', async () => {
        const before = Date.now();
        const res = await inject(route.request({ run_in_ms: 600_000 }));
        expect(res.statusCode, res.body).toBeLessThan(300);
        const task = (await inject({ url: `/tasks/${route.taskId(res.json())}` })).json();
        expect(task).toMatchObject({ state: 'delayed', priority: 5, timeout_ms: null });
        expect(task).not.toHaveProperty('key');
        expect(Date.parse(task.run_at)).toBeGreaterThanOrEqual(before + 600_000);
        expect(Date.parse(task.run_at)).toBeLessThan(Date.now() + 600_000 + 1_000);
      });

      // Needs the SQL driver's support of keys (q-sql).
      it('answers a second task with a key kept by the first with the first task', async () => {
        const key = `keep-${route.name}`;
        const first = await inject(route.request({ run_in_ms: 600_000, key }));
        const second = await inject(route.request({ run_in_ms: 600_000, key, key_mode: 'keep' }));
        expect(second.statusCode, second.body).toBeLessThan(300);
        expect(route.taskId(second.json())).toBe(route.taskId(first.json()));
      });
    });
  }

  it('shows every task option field in /docs, for every route', async () => {
    const spec = (await inject({ url: '/openapi.json' })).json();
    const bodyFields = (path: string) => Object.keys(spec.paths[path].post.requestBody.content['application/json'].schema.properties);
    const optionFields = ['run_at', 'run_in_ms', 'priority', 'timeout_ms', 'key', 'key_mode'];
    for (const path of ['/async/post_task', '/feedback/async', '/text_tasks', '/images_tasks']) expect(bodyFields(path)).toEqual(expect.arrayContaining(optionFields));
    const query = spec.paths['/test/{n}/'].post.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
    expect(query).toEqual(expect.arrayContaining(['wait', ...optionFields]));
    // a sync sum waits for its task, and the feedback form does not offer them
    expect(bodyFields('/sync/sum')).not.toContain('run_at');
    expect(Object.keys(spec.paths['/feedback/async'].post.requestBody.content['application/x-www-form-urlencoded'].schema.properties)).not.toContain('run_at');
  });

  it('refuses the options on /sync/sum and /feedback/sync, which do not queue for later', async () => {
    for (const url of ['/sync/sum', '/feedback/sync']) {
      const res = await inject(jsonPost(url, { numbers: [1], message: 'x', priority: 1 }));
      expect(res.statusCode).toBe(400);
    }
  });
});

describe('enqueueOptionsOf', () => {
  it('maps each field to its EnqueueOptions name, a key defaulting to keep', () => {
    expect(enqueueOptionsOf({})).toEqual({});
    expect(enqueueOptionsOf({ run_at: '2030-01-01T10:00:00+01:00', priority: 1, timeout_ms: 500, key: 'k' })).toEqual({
      runAt: Date.UTC(2030, 0, 1, 9),
      priority: 1,
      timeoutMs: 500,
      key: 'k',
      keyMode: 'keep',
    });
    expect(enqueueOptionsOf({ run_in_ms: 0, key: 'k', key_mode: 'debounce' })).toEqual({ delayMs: 0, key: 'k', keyMode: 'debounce' });
  });
});
