// What a person sees when a request fails: a browser (and a client that does not ask for JSON on a
// page route or a form post) gets an HTML page with the status kept, the error, and the form again
// with what was typed where there is one; a JSON client gets the standard error shape, as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FormSession, openFormSession } from '../../test/support/feedback.js';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';
import type { App } from '../app-context.js';

/** What Chromium sends when it follows a link or posts a form. */
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8';
const KEY = 'error-pages-test-key';

const expectJsonError = (res: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, field?: string) => {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(res.json()).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String), ...(field ? { field } : {}) }) });
};

const expectPage = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number) => {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
  expect(res.body).toMatch(/^<!doctype html>/);
};

describe('error pages for browsers, the JSON shape for API clients', () => {
  let wy: TestWorkyard;
  let app: App;
  let form: FormSession;
  beforeAll(async () => {
    wy = await startTestWorkyard({ WORKYARD_API_KEY: KEY });
    app = wy.workyard.app;
    form = await openFormSession(app);
  });
  afterAll(() => wy?.close());

  describe('the feedback page with a bad page parameter', () => {
    const urls = ['/feedback?page=0', '/feedback?page=abc', '/feedback?page=-1', '/feedback?page=2000000', '/feedback?saved=not-an-id'];

    it.each(urls)('%s: a browser (or curl, which names neither) gets the page with the error and both forms, 400', async (url) => {
      for (const accept of [BROWSER, '*/*', undefined]) {
        const res = await app.inject({ url, headers: accept ? { accept } : {} });
        expectPage(res, 400);
        expect(res.body).toContain('<div class="alert" role="alert">This page address is not valid:');
        expect(res.body).toMatch(/(page|saved) \(querystring\)/);
        expect(res.body).toContain('<form method="post" action="/feedback/sync"');
        expect(res.body).toContain('<form method="post" action="/feedback/async"');
      }
    });

    it.each(urls)('%s: a JSON client gets the JSON error naming the parameter', async (url) => {
      const res = await app.inject({ url, headers: { accept: 'application/json' } });
      expectJsonError(res, 400, url.includes('saved') ? 'saved' : 'page');
    });
  });

  describe('a feedback form over 64 KiB', () => {
    const typed = { name: 'Ada <b>Lovelace</b>', email: 'ada@example.com', rating: '4' };

    it.each(['sync', 'async'])('/feedback/%s: 413 with the page, the error, and every field as typed (the message marked)', async (kind) => {
      const message = `a long "message" <i>\n${'x'.repeat(70_000)}`;
      const res = await form.post(`/feedback/${kind}`, { ...typed, message });
      expectPage(res, 413);
      expect(res.body).toContain('Your feedback was not saved: it is larger than this form accepts (64 KiB in all). What you typed is below');
      expect(res.body).toMatch(new RegExp(`<input id="${kind}-name" name="name" [^>]*value="Ada &lt;b&gt;Lovelace&lt;/b&gt;"`));
      expect(res.body).toContain('value="ada@example.com"');
      expect(res.body).toContain('<option value="4" selected>4</option>');
      expect(res.body).toContain(`>\n${message.replace('"message" <i>', '&quot;message&quot; &lt;i&gt;')}</textarea>`);
      expect(res.body).toContain(`<p class="error" id="${kind}-message-error">Message must be at most 5,000 characters.</p>`);
      // a form refused for its size still gets a fresh token to send it again
      expect(res.body).toMatch(/name="_csrf" value="[^"]+"/);
    });

    it('413 in the JSON shape to a client that asks for JSON', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/feedback/sync',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', cookie: form.cookie },
        payload: new URLSearchParams({ ...typed, message: 'x'.repeat(70_000), _csrf: form.token }).toString(),
      });
      expectJsonError(res, 413, 'body');
    });

    it('past 1 MiB it is not read: 413 with the page saying so, the form empty', async () => {
      const res = await form.post('/feedback/sync', { ...typed, message: 'x'.repeat(1024 * 1024 + 10) });
      expectPage(res, 413);
      expect(res.body).toContain('too large even to show again here');
      expect(res.body).toMatch(/<input id="sync-name" name="name" [^>]*value=""/);
    });

    it('the largest form under the limit is still saved', async () => {
      const res = await form.post('/feedback/sync', { name: '😀'.repeat(100), email: 'a@b.co', message: '😀'.repeat(5000), rating: '5' });
      expect(res.statusCode).toBe(303);
    });
  });

  describe('every other route', () => {
    it('a browser gets an error page naming the problem, with the status kept', async () => {
      const cases: [string, number, string][] = [
        ['/async/get_task_result', 400, 'session_id'],
        ['/images_tasks?limit=0', 400, 'limit'],
        ['/text_tasks/no-such-task', 404, 'text task no-such-task not found'],
        ['/no/such/page', 404, 'no route for GET /no/such/page'],
      ];
      for (const [url, status, text] of cases) {
        const res = await app.inject({ url, headers: { accept: BROWSER } });
        expectPage(res, status);
        expect(res.body, url).toContain('<div class="alert" role="alert" id="error">');
        expect(res.body, url).toContain(text);
        expect(res.headers['content-security-policy'], url).toMatch(/default-src 'none'/);
      }
    });

    it('the dashboard asks a browser or curl for the key with a page; a JSON client gets JSON', async () => {
      for (const accept of [BROWSER, '*/*']) {
        const res = await app.inject({ url: '/dashboard', headers: { accept } });
        expectPage(res, 401);
        expect(res.body).toContain('name="key"');
      }
      expectJsonError(await app.inject({ url: '/dashboard', headers: { accept: 'application/json' } }), 401, 'authorization');
    });

    it('API clients (JSON, a wildcard, no Accept, an event stream) get the JSON shape on the same requests', async () => {
      for (const accept of ['application/json', '*/*', undefined, 'text/event-stream', 'text/html;q=0.5, application/json']) {
        const headers = accept ? { accept } : {};
        expectJsonError(await app.inject({ url: '/async/get_task_result', headers }), 400, 'session_id');
        expectJsonError(await app.inject({ url: '/no/such/page', headers }), 404);
        // a form body sent to a JSON route is a client's mistake (curl -d), not a browser's form
        expectJsonError(await app.inject({ method: 'POST', url: '/images_tasks', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'url=http://example.com/' }), 415, 'content-type');
      }
    });
  });
});
