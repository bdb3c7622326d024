// Harvest on the queue's groups: every job in its page host's group, the per-host limits read from
// the environment, and jobs that bring their URL (as a schedule's do) making their own task.
import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { withTables } from '../../infra/db/database.js';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { tasksModule } from '../tasks/index.js';
import { createHarvestModule } from './index.js';
import { TEXT_JOB, groupOfUrl, harvestWorkerOptions } from './jobs.js';
import * as store from './store.js';

describe('per-host limits', () => {
  it('default to 2 tasks at once and 10 starts a second per host, and are read from the environment', () => {
    expect(loadConfig({}).harvest).toMatchObject({ hostConcurrency: 2, hostRate: { max: 10, windowMs: 1_000 } });
    const config = loadConfig({ WORKYARD_HARVEST_HOST_CONCURRENCY: '5', WORKYARD_HARVEST_HOST_RATE_MAX: '30', WORKYARD_HARVEST_HOST_RATE_WINDOW_MS: '60000' });
    expect(config.harvest).toMatchObject({ hostConcurrency: 5, hostRate: { max: 30, windowMs: 60_000 } });
    expect(() => loadConfig({ WORKYARD_HARVEST_HOST_CONCURRENCY: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ WORKYARD_HARVEST_HOST_RATE_WINDOW_MS: '0' })).toThrow(/WORKYARD_HARVEST_HOST_RATE_WINDOW_MS/);
  });

  it('become the worker options of the harvest jobs, 0 lifting a limit', () => {
    expect(harvestWorkerOptions(4, { hostConcurrency: 2, hostRate: { max: 10, windowMs: 1_000 } })).toEqual({ concurrency: 4, groupConcurrency: 2, groupRate: { max: 10, windowMs: 1_000 } });
    expect(harvestWorkerOptions(4, { hostConcurrency: 0, hostRate: { max: 0, windowMs: 1_000 } })).toEqual({ concurrency: 4 });
  });

  it('group by host and port: two servers on one address are two hosts', () => {
    expect(groupOfUrl('https://Example.com/a?b')).toBe('example.com');
    expect(groupOfUrl('http://127.0.0.1:8080/')).toBe('127.0.0.1:8080');
    expect(groupOfUrl('http://127.0.0.1:8081/')).not.toBe(groupOfUrl('http://127.0.0.1:8080/'));
  });
});

describe('harvest jobs and their tasks (fixture site on 127.0.0.1, private addresses allowed)', () => {
  let site: FixtureSite;
  const wy = suiteWorkyard(
    async () => {
      site = await startFixtureSite({
        '/robots.txt': (_req, res) => void res.writeHead(404).end(),
        '/hello.html': html('<html><body><p>Hello from the fixture</p></body></html>'),
        '/other.html': html('<html><body><p>Another page</p></body></html>'),
      });
      return startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' }, { modules: [tasksModule, createHarvestModule({ waitPollMs: 10 })] });
    },
    () => site.close(),
  );
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  it('a job that brings its URL (as a schedule\'s does) makes its own task, under the job\'s id, and harvests it', async () => {
    const job = await wy.workyard.ctx.queue.enqueue(TEXT_JOB, { url: `${site.url}/hello.html` });
    await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000);
    expect((await inject({ url: `/text_tasks/${job.id}` })).json()).toMatchObject({ id: job.id, url: `${site.url}/hello.html`, status: 'done' });
    expect((await inject({ url: `/text_tasks/${job.id}/text` })).body).toContain('Hello from the fixture');
  });

  it('a job queued before URLs were in the data (it names its task) still harvests that task', async () => {
    const id = randomUUID();
    const database = withTables<store.HarvestTables>(wy.workyard.ctx.database);
    await database.run((db) => store.insertTask(db, { id, kind: 'text', url: `${site.url}/hello.html`, now: Date.now() }));
    const job = await wy.workyard.ctx.queue.enqueue(TEXT_JOB, { taskId: id });
    await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000);
    expect((await inject({ url: `/text_tasks/${id}` })).json()).toMatchObject({ id, status: 'done' });
  });

  // Needs the SQL driver to keep the job's group (q-sql).
  it('puts each task in its page host\'s group', async () => {
    const res = await inject({ method: 'POST', url: '/text_tasks', payload: { url: `${site.url}/hello.html` } });
    expect((await inject({ url: `/tasks/${res.json().id}` })).json()).toMatchObject({ name: TEXT_JOB, group: new URL(site.url).host });
  });

  // Needs the SQL driver's keys (q-sql).
  it('with a key held by a task, keeps one task: keep answers with it, replace gives it the new URL', async () => {
    const payload = (path: string, keyMode: string) => ({ url: `${site.url}${path}`, run_in_ms: 600_000, key: 'front-page', key_mode: keyMode });
    const first = (await inject({ method: 'POST', url: '/text_tasks', payload: payload('/hello.html', 'keep') })).json();
    const kept = await inject({ method: 'POST', url: '/text_tasks', payload: payload('/other.html', 'keep') });
    expect(kept.json()).toEqual({ id: first.id, status: 'queued' });
    expect((await inject({ url: `/text_tasks/${first.id}` })).json().url).toBe(`${site.url}/hello.html`);
    const replaced = await inject({ method: 'POST', url: '/text_tasks', payload: payload('/other.html', 'replace') });
    expect(replaced.json()).toEqual({ id: first.id, status: 'queued' });
    expect((await inject({ url: `/text_tasks/${first.id}` })).json().url).toBe(`${site.url}/other.html`);
    // the tasks the second and third posts made for themselves are gone: one task in the list
    const listed = (await inject({ url: '/text_tasks?limit=100' })).json().filter((task: any) => task.url.endsWith('/other.html'));
    expect(listed.map((task: any) => task.id)).toEqual([first.id]);
  });
});
