// /schedules through the app: only admins make and delete them, only schedulable jobs with data
// their schema accepts, and a schedule makes tasks that the modules' own routes show.
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { computeModule } from '../compute/index.js';
import { createHarvestModule } from '../harvest/index.js';
import { statsModule } from '../stats/index.js';
import { tasksModule } from '../tasks/index.js';
import { schedulesModule } from './index.js';

const API_KEY = 'schedules-test-key';
const admin = { authorization: `Bearer ${API_KEY}` };
// a schedule firing every second makes its first task within a second or two; the machine is loaded
const poll = { timeout: 15_000, interval: 100 };

describe('schedules', () => {
  const wy = suiteWorkyard(() =>
    startTestWorkyard({ WORKYARD_API_KEY: API_KEY }, { modules: [tasksModule, schedulesModule, computeModule, createHarvestModule(), statsModule] }),
  );
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);
  const post = (body: object, headers: Record<string, string> = admin) => inject({ method: 'POST', url: '/schedules', headers, payload: body });
  // the schedules this test made: the stats module declares its own (stats.prune, stats.rollup) on start
  const listedByTest = async () => (await inject({ url: '/schedules' })).json().filter((s: { id: string }) => !s.id.startsWith('stats.'));
  const sumSchedule = (overrides: object = {}) => ({ id: 'nightly-sum', cron: '0 3 * * *', timezone: 'Europe/Paris', job: { name: 'compute.sum', data: { numbers: [1, 2, 3] } }, ...overrides });

  describe('admin only', () => {
    it('refuses to create or delete a schedule without the API key, naming the header', async () => {
      for (const res of [await post(sumSchedule(), {}), await post(sumSchedule(), { authorization: 'Bearer wrong' }), await inject({ method: 'DELETE', url: '/schedules/nightly-sum' })]) {
        expect(res.statusCode).toBe(401);
        expect(res.json().error).toMatchObject({ code: 'unauthorized', field: 'authorization' });
      }
    });
  });

  describe('validation: 400 naming the field', () => {
    // [what is wrong, the body, the field]
    const cases: [string, object, string][] = [
      ['a job no module marks schedulable', sumSchedule({ job: { name: 'feedback.save', data: {} } }), 'job.name'],
      ['an unknown job', sumSchedule({ job: { name: 'no.such.job' } }), 'job.name'],
      ['compute.sum without numbers', sumSchedule({ job: { name: 'compute.sum', data: {} } }), 'job.data.numbers'],
      ['compute.sum with a string among its numbers', sumSchedule({ job: { name: 'compute.sum', data: { numbers: [1, 'two'] } } }), 'job.data.numbers'],
      ['compute.sum with a field it does not take', sumSchedule({ job: { name: 'compute.sum', data: { numbers: [1], colour: 'red' } } }), 'job.data.colour'],
      ['compute.sum with both numbers and args', sumSchedule({ job: { name: 'compute.sum', data: { numbers: [1], args: [2] } } }), 'job.data.args'],
      ['compute.sum data not an object', sumSchedule({ job: { name: 'compute.sum', data: [1, 2] } }), 'job.data'],
      ['harvest.text without a url', sumSchedule({ job: { name: 'harvest.text', data: {} } }), 'job.data.url'],
      ['harvest.images with an ftp url', sumSchedule({ job: { name: 'harvest.images', data: { url: 'ftp://example.com/' } } }), 'job.data.url'],
      ['stats.traffic with n = 0', sumSchedule({ job: { name: 'stats.traffic', data: { n: 0 } } }), 'job.data.n'],
      ['an id with a slash', sumSchedule({ id: 'a/b' }), 'id'],
      ['no cron', { id: 'x', job: { name: 'compute.sum', data: { numbers: [1] } } }, 'cron'],
      ['a field the body does not take', sumSchedule({ every: 'day' }), 'every'],
    ];
    it.each(cases)('%s', async (_what, body, field) => {
      const res = await post(body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
      expect(res.json().error.message).toContain(field);
    });

    it('lists the schedulable jobs when the name is not one', async () => {
      const res = await post(sumSchedule({ job: { name: 'feedback.save' } }));
      for (const name of ['compute.sum', 'harvest.text', 'harvest.images', 'stats.traffic']) expect(res.json().error.message).toContain(name);
    });

    // The two below need the queue's schedule() (the schedules helper's work on the drivers).
    it('refuses an expression croner cannot read, naming cron', async () => {
      const res = await post(sumSchedule({ cron: '61 * * * *' }));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'cron' });
    });

    it('refuses an unknown time zone, naming timezone', async () => {
      const res = await post(sumSchedule({ timezone: 'Mars/Olympus_Mons' }));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'timezone' });
    });
  });

  // Needs the queue's schedule(), unschedule() and listSchedules() (the schedules helper's work on the drivers).
  describe('create, list, replace, delete', () => {
    it('creates a schedule, lists it with its next due time, replaces it by id and deletes it', async () => {
      const created = await post(sumSchedule());
      expect(created.statusCode, created.body).toBe(201);
      const view = created.json();
      expect(view).toMatchObject({ id: 'nightly-sum', cron: '0 3 * * *', timezone: 'Europe/Paris', job: { name: 'compute.sum', data: { numbers: [1, 2, 3], delay_ms: 0 } }, last_run_at: null, last_task_id: null, fired: 0 });
      // 03:00 in Paris is 01:00 or 02:00 UTC, within the coming day
      const next = new Date(view.next_run_at);
      expect(next.getTime()).toBeGreaterThan(Date.now());
      expect(next.getTime()).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000);
      expect([1, 2]).toContain(next.getUTCHours());
      expect(next.getUTCMinutes()).toBe(0);

      const listed = await listedByTest();
      expect(listed).toEqual([expect.objectContaining({ id: 'nightly-sum', next_run_at: view.next_run_at, fired: 0 })]);

      const replaced = await post(sumSchedule({ cron: '30 4 * * *', timezone: undefined }));
      expect(replaced.statusCode).toBe(201);
      expect(replaced.json()).toMatchObject({ cron: '30 4 * * *', timezone: 'UTC' });
      expect(await listedByTest()).toHaveLength(1);

      expect((await inject({ method: 'DELETE', url: '/schedules/nightly-sum', headers: admin })).statusCode).toBe(204);
      expect((await inject({ method: 'DELETE', url: '/schedules/nightly-sum', headers: admin })).statusCode).toBe(404);
      expect(await listedByTest()).toEqual([]);
    });

    it('fires: a compute.sum schedule makes sum tasks readable by their id, and counts them', async () => {
      expect((await post({ id: 'every-second-sum', cron: '* * * * * *', job: { name: 'compute.sum', data: { args: [1, 2] } } })).statusCode).toBe(201);
      await expect.poll(async () => (await inject({ url: '/schedules' })).json().find((s: any) => s.id === 'every-second-sum'), poll).toMatchObject({ last_task_id: expect.any(String) });
      const schedule = (await inject({ url: '/schedules' })).json().find((s: any) => s.id === 'every-second-sum');
      expect(schedule.fired).toBeGreaterThanOrEqual(1);
      expect(Date.parse(schedule.last_run_at)).toBeLessThanOrEqual(Date.now());
      await expect.poll(async () => (await inject({ url: `/async/get_task_result/${schedule.last_task_id}` })).json(), poll).toMatchObject({ status: 'done', result: 3 });
      expect((await inject({ method: 'DELETE', url: '/schedules/every-second-sum', headers: admin })).statusCode).toBe(204);
    });

    it('fires: a harvest.text schedule makes a text task of its own, grouped by the page\'s host', async () => {
      // private addresses are refused: the task fails, which is enough to see it was made and run
      expect((await post({ id: 'every-second-text', cron: '* * * * * *', job: { name: 'harvest.text', data: { url: 'http://127.0.0.1:9/page' } } })).statusCode).toBe(201);
      await expect.poll(async () => (await inject({ url: '/schedules' })).json().find((s: any) => s.id === 'every-second-text')?.last_task_id ?? null, poll).not.toBeNull();
      const { last_task_id: taskId } = (await inject({ url: '/schedules' })).json().find((s: any) => s.id === 'every-second-text');
      expect((await inject({ method: 'DELETE', url: '/schedules/every-second-text', headers: admin })).statusCode).toBe(204);
      await expect.poll(async () => (await inject({ url: `/text_tasks/${taskId}` })).json(), poll).toMatchObject({ id: taskId, url: 'http://127.0.0.1:9/page', status: 'failed' });
      expect((await inject({ url: `/tasks/${taskId}` })).json()).toMatchObject({ name: 'harvest.text', group: '127.0.0.1:9' });
    });

    it('gives a stats.traffic schedule the API\'s own loopback address', async () => {
      const res = await post({ id: 'traffic', cron: '0 0 1 1 *', job: { name: 'stats.traffic', data: { n: 10 } } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().job.data).toEqual({ n: 10, baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
      expect((await inject({ method: 'DELETE', url: '/schedules/traffic', headers: admin })).statusCode).toBe(204);
    });
  });

  it('documents the schedules routes and the new task fields in /docs', async () => {
    const spec = (await inject({ url: '/openapi.json' })).json();
    expect(spec.paths['/schedules'].post.security).toEqual([{ apiKey: [] }]);
    expect(spec.paths['/schedules/{id}'].delete.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(spec.paths['/schedules'].post.requestBody.content['application/json'].schema.properties)).toEqual(['id', 'cron', 'timezone', 'job']);
    expect(Object.keys(spec.paths['/schedules'].get.responses['200'].content['application/json'].schema.items.properties)).toEqual(
      expect.arrayContaining(['next_run_at', 'last_run_at', 'last_task_id', 'fired']),
    );
    const task = spec.paths['/tasks/{id}'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(task.properties)).toEqual(expect.arrayContaining(['state', 'priority', 'run_at', 'attempts', 'timeout_ms', 'group', 'key']));
    expect(task.properties.state.enum).toContain('delayed');
  });
});
