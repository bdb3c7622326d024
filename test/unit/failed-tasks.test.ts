// A module's failure is its job's failure, on every queue driver: a sum beyond the range of a
// double and a page that cannot be harvested end `failed`, with their error and without retries,
// in the task API (and its events), the queue counts, the dashboard and /metrics, while the
// modules' own result routes keep their seed-compatible shape.
// (Feedback saves, blob uploads and traffic runs already failed their jobs by throwing; a traffic
// run is checked here as well. A traffic run whose requests fail completes: its summary counts them.)
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeModule } from '../../src/modules/compute/index.js';
import { SUM_OVERFLOW_MESSAGE } from '../../src/modules/compute/sum.js';
import { dashboardModule } from '../../src/modules/dashboard/index.js';
import { createHarvestModule } from '../../src/modules/harvest/index.js';
import { statsModule } from '../../src/modules/stats/index.js';
import { TRAFFIC_JOB } from '../../src/modules/stats/jobs.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { type DriverUnderTest, driverMatrix } from '../support/drivers.js';
import { readEvents } from '../support/dashboard.js';
import { type FixtureSite, html, startFixtureSite } from '../support/harvest-fixture-site.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const OVERFLOW = [1.7e308, 1.7e308];

/** The value of a Prometheus series whose labels include all of `labels`, or undefined. */
function metricValue(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const body = line.slice(metric.length + 1, close);
    if (Object.entries(labels).every(([key, value]) => body.includes(`${key}="${value}"`))) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`failed tasks are failed everywhere, on the ${driver.name} queue`, () => {
    let setup: DriverUnderTest;
    let site: FixtureSite;
    let wy: TestWorkyard;
    const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

    beforeAll(async () => {
      setup = await driver.setUp();
      site = await startFixtureSite({
        '/gone.html': (_req, res) => void res.writeHead(410, { 'content-type': 'text/html' }).end('gone'),
        '/page.html': html('<p>a page</p>'),
      });
      wy = await startTestWorkyard(
        { ...setup.env, WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' },
        { modules: [tasksModule, dashboardModule, computeModule, createHarvestModule({ waitPollMs: 10 }), statsModule] },
      );
    });
    afterAll(async () => {
      await wy?.close();
      await setup?.cleanup();
      await site?.close();
    });

    async function task(id: string) {
      const res = await inject({ url: `/tasks/${id}` });
      expect(res.statusCode).toBe(200);
      return res.json();
    }

    it('a sum beyond the double range: failed in the task API and its events, once, while its own routes keep their shape', async () => {
      const started = await inject({ method: 'POST', url: '/async/post_task', payload: { numbers: OVERFLOW, delay_ms: 1_000 } });
      expect(started.statusCode).toBe(202);
      const id: string = started.json().session_id;
      const stream = await fetch(`${wy.baseUrl}/tasks/${id}/events`);
      const events = await readEvents(stream.body!, (event) => event.event === 'task' && JSON.parse(event.data).status !== 'queued' && JSON.parse(event.data).status !== 'active', 10_000);
      expect(events.map((e) => e.event)).toContain('failed');
      expect(JSON.parse(events.find((e) => e.event === 'failed')!.data)).toMatchObject({ error: SUM_OVERFLOW_MESSAGE, willRetry: false });
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ id, status: 'failed', error: SUM_OVERFLOW_MESSAGE });

      // the same numbers overflow on every run: one attempt, not three
      expect(await task(id)).toMatchObject({ id, name: 'compute.sum', status: 'failed', result: null, error: SUM_OVERFLOW_MESSAGE, attempts: 1, finished_at: expect.any(String) });
      const result = await inject({ url: `/async/get_task_result?session_id=${id}` });
      expect(result.json()).toEqual({ session_id: id, status: 'failed', result: null, error: SUM_OVERFLOW_MESSAGE });

      const sync = await inject({ method: 'POST', url: '/sync/sum', payload: { numbers: OVERFLOW } });
      expect(sync.statusCode).toBe(400);
      expect(sync.json().error).toMatchObject({ code: 'validation_failed', field: 'numbers' });
      expect(await task(sync.json().error.task_id)).toMatchObject({ status: 'failed', error: SUM_OVERFLOW_MESSAGE });
    });

    it('a page that cannot be harvested: failed in the task API, once, while the harvest routes keep their shape', async () => {
      for (const kind of ['text', 'images'] as const) {
        const submitted = await inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: `${site.url}/gone.html` } });
        expect(submitted.statusCode).toBe(202);
        const id: string = submitted.json().id;
        await wy.workyard.ctx.queue.waitForFinish(id, 20_000);
        const error = `HTTP 410 from ${site.url}/gone.html`;
        expect(await task(id)).toMatchObject({ id, name: `harvest.${kind}`, status: 'failed', error, attempts: 1, result: null });
        expect((await inject({ url: `/${kind}_tasks/${id}` })).json()).toMatchObject({ id, status: 'failed', error });
      }
      const done = await inject({ method: 'POST', url: '/text_tasks', payload: { url: `${site.url}/page.html` } });
      await wy.workyard.ctx.queue.waitForFinish(done.json().id, 20_000);
      expect(await task(done.json().id)).toMatchObject({ status: 'completed', error: null });
    });

    it('a traffic run that cannot run (its job names a host that is not loopback): failed in the task API', async () => {
      const job = await wy.workyard.ctx.queue.enqueue(TRAFFIC_JOB, { n: 1, baseUrl: 'http://192.0.2.1:8080' });
      await wy.workyard.ctx.queue.waitForFinish(job.id, 10_000);
      expect(await task(job.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('loopback addresses only'), result: null });
    });

    it('the counts, the dashboard and /metrics count them as failed', async () => {
      await inject({ method: 'POST', url: '/sync/sum', payload: { numbers: [1, 2] } });
      const counts = await wy.workyard.ctx.queue.counts();
      expect(counts['compute.sum']).toMatchObject({ completed: 1, failed: 2 });
      expect(counts['harvest.text']).toMatchObject({ completed: 1, failed: 1 });
      expect(counts['harvest.images']).toMatchObject({ completed: 0, failed: 1 });
      expect(counts['stats.traffic']).toMatchObject({ completed: 0, failed: 1 });

      const summary = (await inject({ url: '/dashboard/summary' })).json();
      const row = (name: string) => summary.queues.jobs.find((r: { name: string }) => r.name === name);
      expect(row('compute.sum')).toMatchObject({ completed: 1, failed: 2, completion_rate: 1 / 3 });
      expect(row('harvest.text')).toMatchObject({ completed: 1, failed: 1, completion_rate: 0.5 });
      expect(row('harvest.images')).toMatchObject({ completed: 0, failed: 1, completion_rate: 0 });
      const tasks: { name: string; status: string; error: string | null }[] = summary.tasks.tasks;
      expect(tasks.filter((t) => t.name === 'compute.sum').map((t) => t.status).sort()).toEqual(['completed', 'failed', 'failed']);
      expect(tasks.filter((t) => t.status === 'failed').map((t) => t.error)).not.toContain(null);
      // and the failed-tasks panel lists them with their errors
      const failed: { name: string; error: string | null }[] = summary.failed.tasks;
      expect(failed.filter((t) => t.name === 'compute.sum').map((t) => t.error)).toEqual([SUM_OVERFLOW_MESSAGE, SUM_OVERFLOW_MESSAGE]);
      const page = (await inject({ url: '/dashboard' })).body;
      expect(page).toMatch(/<span class="status status-failed">failed<\/span>/);

      const metrics = (await inject({ url: '/metrics' })).body;
      expect(metricValue(metrics, 'workyard_queue_jobs', { job: 'compute.sum', state: 'failed' })).toBe(2);
      expect(metricValue(metrics, 'workyard_queue_jobs', { job: 'harvest.text', state: 'failed' })).toBe(1);
      expect(metricValue(metrics, 'workyard_jobs_finished_total', { job: 'compute.sum', outcome: 'failed' })).toBe(2);
      expect(metricValue(metrics, 'workyard_jobs_finished_total', { job: 'harvest.images', outcome: 'failed' })).toBe(1);
      expect(metricValue(metrics, 'workyard_jobs_finished_total', { job: 'harvest.images', outcome: 'completed' })).toBeUndefined();
    });
  });
}
