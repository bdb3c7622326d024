// The dashboard's buttons through their routes, on every queue driver: retry a failed task (it
// then completes), cancel a waiting and a running one, pause and resume a job name; each needs the
// operator key and the page's CSRF token. (test/browser/dashboard-actions.test.ts presses them in Chromium.)
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { SLOW_JOB, slowJobModule } from '../../../test/support/dashboard.js';
import { type DriverUnderTest, driverMatrix } from '../../../test/support/drivers.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { modules } from '../index.js';
import { CSRF_HEADER, DASHBOARD_CSRF_COOKIE } from './csrf.js';
import { KEY_COOKIE } from './operator-access.js';

const KEY = 'dashboard-actions-key';
const keyCookie = `${KEY_COOKIE}=${KEY}`;

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`dashboard actions, on the ${driver.name} queue`, () => {
    let setup: DriverUnderTest;
    const wy = suiteWorkyard(
      async () => {
        setup = await driver.setUp();
        return startTestWorkyard({ ...setup.env, WORKYARD_API_KEY: KEY }, { modules: [...modules, slowJobModule] });
      },
      () => setup?.cleanup(),
    );
    const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

    /** What the page gives a browser: the CSRF secret's cookie and the token in its <meta>. */
    async function pageSession(): Promise<Record<string, string>> {
      const page = await inject({ url: '/dashboard', headers: { cookie: keyCookie } });
      expect(page.statusCode).toBe(200);
      const secret = new RegExp(`${DASHBOARD_CSRF_COOKIE}=([^;]+)`).exec(String(page.headers['set-cookie']))?.[1];
      const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
      expect(secret && token).toBeTruthy();
      return { cookie: `${keyCookie}; ${DASHBOARD_CSRF_COOKIE}=${secret}`, [CSRF_HEADER]: token! };
    }
    const post = async (url: string, headers?: Record<string, string>) => inject({ method: 'POST', url, headers: headers ?? (await pageSession()) });

    it('refuses a post without the token, or with a wrong one (403), and one without the key (401)', async () => {
      const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 60_000 }, { delayMs: 60_000 });
      const session = await pageSession();
      const noToken = await post(`/dashboard/actions/tasks/${job.id}/cancel`, { cookie: session.cookie });
      expect(noToken.statusCode).toBe(403);
      expect(noToken.json()).toMatchObject({ error: { code: 'forbidden', field: CSRF_HEADER } });
      expect((await post(`/dashboard/actions/tasks/${job.id}/cancel`, { ...session, [CSRF_HEADER]: `${session[CSRF_HEADER]}x` })).statusCode).toBe(403);
      // a token without the secret cookie it was made from
      expect((await post(`/dashboard/actions/tasks/${job.id}/cancel`, { cookie: keyCookie, [CSRF_HEADER]: session[CSRF_HEADER] })).statusCode).toBe(403);
      expect((await post(`/dashboard/actions/queues/${SLOW_JOB}/pause`, { [CSRF_HEADER]: session[CSRF_HEADER] })).statusCode).toBe(401);
      // none of them did anything
      expect((await wy.workyard.ctx.queue.getJob(job.id))?.state).toBe('delayed');
      expect((await post(`/dashboard/actions/tasks/${job.id}/cancel`)).json()).toEqual({ id: job.id, outcome: 'cancelled' });
    });

    it('retries a failed task, which then completes; 409 for a task that is not failed, 404 for none', async () => {
      const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 10, failOnce: true });
      expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000)).state).toBe('failed');
      const retried = await post(`/dashboard/actions/tasks/${job.id}/retry`);
      expect(retried.statusCode).toBe(200);
      expect(retried.json()).toEqual({ id: job.id, outcome: 'retried' });
      expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000)).state).toBe('completed');
      expect((await post(`/dashboard/actions/tasks/${job.id}/retry`)).statusCode).toBe(409);
      expect((await post('/dashboard/actions/tasks/no-such-task/retry')).statusCode).toBe(404);
    });

    it('retries every failed task of a name', async () => {
      const jobs = await Promise.all([1, 2].map(() => wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 10, failOnce: true })));
      for (const job of jobs) expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000)).state).toBe('failed');
      const res = await post(`/dashboard/actions/queues/${SLOW_JOB}/retry-failed`);
      expect(res.statusCode).toBe(200);
      expect(res.json().retried).toBeGreaterThanOrEqual(2);
      for (const job of jobs) expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000)).state).toBe('completed');
    });

    it('cancels a running task (202; it ends cancelled) and refuses a finished one (409)', async () => {
      const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 60_000 });
      await untilActive(job.id);
      const res = await post(`/dashboard/actions/tasks/${job.id}/cancel`);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ id: job.id, outcome: 'cancelling' });
      expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000)).state).toBe('cancelled');
      expect((await post(`/dashboard/actions/tasks/${job.id}/cancel`)).statusCode).toBe(409);
    });

    it('pauses a job name (shown paused on the page, nothing starts) and resumes it', async () => {
      const session = await pageSession();
      const paused = await post(`/dashboard/actions/queues/${SLOW_JOB}/pause`, session);
      expect(paused.statusCode).toBe(200);
      expect(paused.json()).toEqual({ name: SLOW_JOB, paused: true });
      const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 10 });
      await expect.poll(async () => (await inject({ url: '/dashboard/summary', headers: { cookie: keyCookie } })).json().queues.jobs.find((q: { name: string }) => q.name === SLOW_JOB)?.paused, { timeout: 10_000 }).toBe(true);
      const page = await inject({ url: '/dashboard', headers: { cookie: keyCookie } });
      expect(new RegExp(`<tr data-job="${SLOW_JOB}">.*?</tr>`).exec(page.body)?.[0]).toContain('data-paused');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await wy.workyard.ctx.queue.getJob(job.id))?.state).toBe('queued');
      expect((await post(`/dashboard/actions/queues/${SLOW_JOB}/resume`, session)).json()).toEqual({ name: SLOW_JOB, paused: false });
      expect((await wy.workyard.ctx.queue.waitForFinish(job.id, 20_000)).state).toBe('completed');
    });

    it('says which field is wrong: a job name that cannot be one (once the key and the token passed)', async () => {
      const res = await post('/dashboard/actions/queues/bad:name/pause');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'validation_failed', field: 'name' } });
      expect((await post('/dashboard/actions/queues/bad:name/pause', {})).statusCode).toBe(401);
      expect((await post('/dashboard/actions/queues/bad:name/pause', { cookie: keyCookie })).statusCode).toBe(403);
    });

    async function untilActive(id: string) {
      await expect.poll(async () => (await wy.workyard.ctx.queue.getJob(id))?.state, { timeout: 20_000 }).toBe('active');
    }
  });
}
