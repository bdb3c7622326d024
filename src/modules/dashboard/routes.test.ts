import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { modules } from '../index.js';
import { KEY_COOKIE } from './operator-access.js';
import { SLOW_JOB, readEvents, slowJobModule } from '../../../test/support/dashboard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const KEY = 'dashboard-test-key';
const cookie = { cookie: `${KEY_COOKIE}=${KEY}` };

describe('GET /dashboard (embedded shape)', () => {
  const wy = suiteWorkyard(async () => {
    const started = await startTestWorkyard({ WORKYARD_API_KEY: KEY }, { modules: [...modules, slowJobModule] });
    // Before the first read: blob totals are read again only every few seconds.
    await started.workyard.ctx.blobs.put('dashboard-test/one', Buffer.alloc(1000, 1));
    await started.workyard.ctx.blobs.put('dashboard-test/two', Buffer.alloc(2048, 2));
    return started;
  });
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  describe('the operator key', () => {
    it('is required: a client gets the JSON error, a browser a form that asks for it', async () => {
      const json = await inject({ url: '/dashboard/summary' });
      expect(json.statusCode).toBe(401);
      expect(json.json()).toMatchObject({ error: { code: 'unauthorized', field: 'authorization' } });
      const page = await inject({ url: '/dashboard', headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(page.statusCode).toBe(401);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<form method="get" action="/dashboard">');
      expect(page.body).toContain('name="key"');
    });

    it('is accepted as a Bearer header, which sets no key cookie (only the CSRF secret of the buttons)', async () => {
      const res = await inject({ url: '/dashboard', headers: { authorization: `Bearer ${KEY}` } });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['set-cookie'])).not.toContain(KEY_COOKIE);
      expect(String(res.headers['set-cookie'])).toMatch(/^wy_dashboard_csrf=[^;]+; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    });

    it('is accepted as ?key=, which sets an HttpOnly, SameSite=Strict cookie that then suffices', async () => {
      const res = await inject({ url: `/dashboard?key=${KEY}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      const set = String(res.headers['set-cookie']);
      expect(set).toMatch(new RegExp(`^${KEY_COOKIE}=${KEY}; Path=/; HttpOnly; SameSite=Strict`));
      expect((await inject({ url: '/dashboard/summary', headers: cookie })).statusCode).toBe(200);
    });

    it('refuses a wrong key in any form', async () => {
      expect((await inject({ url: '/dashboard?key=wrong' })).statusCode).toBe(401);
      expect((await inject({ url: '/dashboard/summary', headers: { cookie: `${KEY_COOKIE}=wrong` } })).statusCode).toBe(401);
      expect((await inject({ url: '/dashboard/summary', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      // A right cookie does not rescue a wrong header: the header is what the client said.
      expect((await inject({ url: '/dashboard/summary', headers: { ...cookie, authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    });

    it('is not needed for the page assets, which hold no data', async () => {
      const css = await inject({ url: '/dashboard/assets/dashboard.css' });
      expect(css.statusCode).toBe(200);
      expect(css.headers['content-type']).toMatch(/^text\/css/);
      const js = await inject({ url: '/dashboard/assets/dashboard.js' });
      expect(js.statusCode).toBe(200);
      expect(js.headers['content-type']).toMatch(/^text\/javascript/);
      expect(js.body).toContain("new EventSource('/dashboard/events')");
    });
  });

  describe('the page', () => {
    it('shows the counts of every job name, the latest tasks and a completion rate', async () => {
      const ok = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 1 });
      const bad = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 1, fail: true });
      await wy.workyard.ctx.queue.waitForFinish(ok.id, 10_000);
      await wy.workyard.ctx.queue.waitForFinish(bad.id, 10_000);
      // Past the one-second cache of the figures.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const res = await inject({ url: '/dashboard', headers: cookie });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const row = new RegExp(`<tr data-job="${SLOW_JOB}">.*?</tr>`).exec(res.body)?.[0] ?? '';
      expect(row).toContain('data-state="completed">1<');
      expect(row).toContain('data-state="failed">1<');
      expect(row).toContain('50 %');
      expect(res.body).toContain(`data-task-id="${ok.id}" data-status="completed"`);
      expect(res.body).toContain(`data-task-id="${bad.id}" data-status="failed"`);
      expect(res.body).toContain('failed on purpose');
      for (const link of ['/docs', '/metrics', '/readyz']) expect(res.body).toContain(`href="${link}"`);
      // Within a strict Content-Security-Policy: no inline script, no style attribute, nothing from elsewhere.
      expect(res.body).not.toMatch(/<script(?![^>]*\ssrc="\/)/);
      expect(res.body).not.toMatch(/\sstyle="/);
      expect(res.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    });

    it('draws a running task progress as a bar with its numbers: a percentage, done of a total, or short text', async () => {
      const reports = [37, { done: 3, total: 12 }, { phase: 'download' }];
      const jobs = await Promise.all(reports.map((progress) => wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 60_000, progress })));
      await expect.poll(async () => (await Promise.all(jobs.map((job) => wy.workyard.ctx.queue.getJob(job.id)))).every((job) => job?.state === 'active' && job.progress !== 0), { timeout: 10_000 }).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const res = await inject({ url: '/dashboard', headers: cookie });
      const cell = (id: string) => new RegExp(`<tr data-task-id="${id}"[^>]*>(?:<td>.*?</td>){3}<td>(.*?)</td>`).exec(res.body)?.[1] ?? '';
      expect(cell(jobs[0].id)).toMatch(/<rect class="meter-fill" width="37\.0".*<span class="progress-label">37 %<\/span>/);
      expect(cell(jobs[1].id)).toMatch(/<rect class="meter-fill" width="25\.0".*<span class="progress-label">3 \/ 12<\/span>/);
      expect(cell(jobs[2].id)).toContain('<span class="progress-text" title="{&quot;phase&quot;:&quot;download&quot;}">phase: download</span>');
      for (const job of jobs) await wy.workyard.ctx.queue.cancel(job.id);
    });

    it('shows the blob count and total size', async () => {
      const summary = (await inject({ url: '/dashboard/summary', headers: cookie })).json();
      expect(summary.blobs).toEqual({ available: true, driver: 'disk', count: 2, bytes: 3048, exact: true });
      const page = await inject({ url: '/dashboard', headers: cookie });
      expect(page.body).toContain('<span class="figure-value" data-figure="blob-count">2</span>');
      expect(page.body).toContain('<span class="figure-value" data-figure="blob-bytes">3.0 KiB</span>');
    });

    it('reads the harvest module only when it is installed', async () => {
      const page = await inject({ url: '/dashboard', headers: cookie });
      const harvestInstalled = wy.workyard.app.hasRoute({ method: 'GET', url: '/images_tasks' });
      expect(page.body).toContain(`data-harvest="${harvestInstalled ? 'on' : 'off'}"`);
      if (!harvestInstalled) expect(page.body).toContain('the harvest module is not part of this installation');
    });

    it('draws the request counts as one bar per path, the most requested first', async () => {
      const counters = wy.workyard.ctx.counters;
      const paths = { '/api/dashboard-test/a': 5, '/api/dashboard-test/b': 3, '/api/dashboard-test/c': 1 };
      for (const [path, times] of Object.entries(paths)) for (let i = 0; i < times; i++) counters.increment(path);
      await counters.flush();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const res = await inject({ url: '/dashboard', headers: cookie });
      const bars = [...res.body.matchAll(/<g class="bar" data-path="([^"]*)" data-count="(\d+)">/g)].map((m) => [m[1], Number(m[2])] as const);
      const ours = bars.filter(([path]) => path.startsWith('/api/dashboard-test/'));
      expect(ours).toEqual(Object.entries(paths));
      const { unique } = await counters.top({ limit: 1, offset: 0 });
      expect(bars).toHaveLength(Math.min(20, unique));
    });

    it('draws the request panel for a chosen range at /dashboard/panels/stats (the page\'s range selector), with the key only', async () => {
      const counters = wy.workyard.ctx.counters;
      counters.increment('/api/dashboard-range/x');
      counters.increment('/api/dashboard-range/x');
      await counters.flush();
      expect((await inject({ url: '/dashboard', headers: cookie })).body).toContain('<select data-stats-range-select');
      const day = await inject({ url: '/dashboard/panels/stats?range=24h', headers: cookie });
      expect(day.statusCode).toBe(200);
      expect(day.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(day.body).toContain('Requests per hour, last 24 hours (UTC)');
      expect(day.body).toContain('distinct paths in the last 24 hours');
      expect(day.body).toMatch(/<g class="bar" data-path="\/api\/dashboard-range\/x" data-count="2">/);
      const week = await inject({ url: '/dashboard/panels/stats?range=7d', headers: cookie });
      expect(week.body).toContain('Requests per hour, last 7 days (UTC)');
      expect(week.body.match(/<g class="column"/g)!.length).toBeGreaterThanOrEqual(168);
      const month = await inject({ url: '/dashboard/panels/stats?range=30d', headers: cookie });
      expect(month.body).toContain('Requests per day, last 30 days (UTC)');
      expect(month.body.match(/<g class="column"/g)!.length).toBeGreaterThanOrEqual(30);
      expect((await inject({ url: '/dashboard/panels/stats?range=7d' })).statusCode).toBe(401);
      const wrong = await inject({ url: '/dashboard/panels/stats?range=1y', headers: cookie });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().error.field).toBe('range');
    });

    it('escapes job ids, which any caller may choose', async () => {
      // Job names are restricted to letters, digits and . _ - by the queue; caller-chosen ids are not.
      const name = '<img src=x onerror=alert(1)>';
      await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 1 }, { jobId: name });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const res = await inject({ url: '/dashboard', headers: cookie });
      expect(res.body).not.toContain(name);
      expect(res.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    });

    it('is listed in /docs', async () => {
      const spec = (await inject({ url: '/openapi.json' })).json();
      expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/dashboard', '/dashboard/summary', '/dashboard/events']));
    });
  });

  describe('the live stream', () => {
    it('sends every panel at once, then the task panel again as soon as a task moves', async () => {
      const controller = new AbortController();
      const res = await fetch(`${wy.baseUrl}/dashboard/events`, { headers: cookie, signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      let jobId = '';
      const events = await readEvents(
        res.body!,
        (event, all) => {
          if (all.length === 1) {
            // The first message has every panel; now start a task and watch it.
            expect(Object.keys(JSON.parse(event.data)).sort()).toEqual(['blobs', 'failed', 'queues', 'stats', 'tasks']);
            void wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 600 }, { delayMs: 2_500 }).then((job) => (jobId = job.id));
            return false;
          }
          const tasks: string | undefined = JSON.parse(event.data).tasks;
          return Boolean(jobId && tasks?.includes(`data-task-id="${jobId}" data-status="completed"`));
        },
        15_000,
      );
      controller.abort();
      const statuses = events
        .map((e) => JSON.parse(e.data).tasks as string | undefined)
        .map((html) => new RegExp(`data-task-id="${jobId}" data-status="(\\w+)"`).exec(html ?? '')?.[1])
        .filter(Boolean);
      // enqueued with a delay: the panel shows it delayed first, then running, then completed
      expect(statuses[0]).toBe('delayed');
      expect(statuses[statuses.length - 1]).toBe('completed');
    });

    it('needs the key too', async () => {
      const res = await fetch(`${wy.baseUrl}/dashboard/events`);
      expect(res.status).toBe(401);
      await res.body?.cancel();
    });
  });
});
