// The pages: the feedback listing (paging, order, JSON forms, escaping) and the home page, on
// SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type FeedbackRow, FeedbackStore } from './store.js';
import { type FeedbackWorkyard, startFeedbackWorkyard } from '../../../test/support/feedback.js';


for (const driver of (await driverMatrix()).filter((d) => d.queue === 'sql')) {
  const { dialect, available } = driver;
  describe.skipIf(!available)(`feedback listing on ${dialect}`, () => {
    let wy: FeedbackWorkyard;
    const base = Date.UTC(2026, 0, 1);
    // 120 entries, one a second; two share a time so that the id decides their order
    const rows: FeedbackRow[] = Array.from({ length: 120 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `Person ${i}`,
      email: `p${i}@example.com`,
      message: `Message ${i}`,
      rating: i % 6 === 0 ? null : (i % 5) + 1,
      via: i % 2 ? 'queued' : 'sync',
      created_at: base + (i === 61 ? 60 : i) * 1000,
    }));
    // newest first; at equal times the greater id first
    const expectedOrder = [...rows].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1)).map((r) => r.id);

    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver);
      const inserted = await new FeedbackStore(wy.workyard.ctx.database).insert(rows);
      expect(inserted.size).toBe(120);
    });
    afterAll(() => wy?.close());

    const json = async (url: string, headers: Record<string, string> = {}) => {
      const res = await wy.app.inject({ url, headers });
      expect(res.statusCode, url).toBe(200);
      return res.json();
    };

    it('lists 50 a page, newest first, with the next page until the last', async () => {
      const pages = [await json('/feedback.json'), await json('/feedback.json?page=2'), await json('/feedback.json?page=3'), await json('/feedback.json?page=4')];
      expect(pages.map((p) => p.items.length)).toEqual([50, 50, 20, 0]);
      expect(pages.map((p) => p.next_page)).toEqual([2, 3, null, null]);
      expect(pages.map((p) => p.per_page)).toEqual([50, 50, 50, 50]);
      expect(pages.flatMap((p) => p.items.map((i: { id: string }) => i.id))).toEqual(expectedOrder);
    });

    it('gives each entry its name, rating, message and time, and never the email address', async () => {
      const page = await json('/feedback.json?page=3');
      const last = page.items.at(-1);
      expect(last).toEqual({ id: rows[0].id, name: 'Person 0', rating: null, message: 'Message 0', via: 'sync', created_at: '2026-01-01T00:00:00.000Z' });
      expect(JSON.stringify(page)).not.toContain('@example.com');
      const html = (await wy.app.inject({ url: '/feedback?page=3' })).body;
      expect(html).not.toContain('@example.com');
    });

    it('answers JSON on /feedback when Accept ranks it above HTML, and HTML otherwise', async () => {
      expect(await json('/feedback?page=2', { accept: 'application/json' })).toEqual(await json('/feedback.json?page=2'));
      const res = await wy.app.inject({ url: '/feedback', headers: { accept: 'text/html;q=0.5, application/json' } });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers.vary).toMatch(/accept/i);
      for (const accept of ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', '*/*', 'application/json;q=0.1, text/html']) {
        const page = await wy.app.inject({ url: '/feedback', headers: { accept } });
        expect(page.headers['content-type'], accept).toMatch(/^text\/html/);
      }
    });

    it('renders the HTML pages with the same order and newer/older links', async () => {
      const page2 = (await wy.app.inject({ url: '/feedback?page=2' })).body;
      const ids = [...page2.matchAll(/<li class="entry" data-id="([^"]+)"/g)].map((m) => m[1]);
      expect(ids).toEqual(expectedOrder.slice(50, 100));
      expect(page2).toContain('href="/feedback?page=1#entries">← Newer</a>');
      expect(page2).toContain('href="/feedback?page=3#entries">Older →</a>');
      const page3 = (await wy.app.inject({ url: '/feedback?page=3' })).body;
      expect(page3).not.toContain('Older →');
      expect(page3).toContain('<time class="meta" datetime="2026-01-01T00:00:00.000Z">2026-01-01 00:00:00 UTC</time>');
      const past = (await wy.app.inject({ url: '/feedback?page=9' })).body;
      expect(past).toContain('No feedback on this page.');
    });

    // (a browser gets the page instead, with the error: error-pages.test.ts)
    it('refuses a bad page number with 400 naming the parameter to a JSON client', async () => {
      for (const url of ['/feedback.json?page=0', '/feedback.json?page=abc', '/feedback?page=-1', '/feedback?page=1.5', '/feedback?page=2000000']) {
        const res = await wy.app.inject({ url, headers: { accept: 'application/json' } });
        expect(res.statusCode, url).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'page' });
      }
      const notice = await wy.app.inject({ url: '/feedback?saved=<script>', headers: { accept: 'application/json' } });
      expect(notice.statusCode).toBe(400);
      expect(notice.json().error.field).toBe('saved');
    });

    it('shows user text as text: a script in a name or message is escaped, and no script may run', async () => {
      const res = await wy.app.inject({
        method: 'POST',
        url: '/feedback/sync',
        headers: { 'content-type': 'application/json' },
        payload: { name: '<script>alert(1)</script>', email: 'x@example.com', message: '<img src=x onerror=alert(1)> & "quotes" \'too\'', rating: 1 },
      });
      expect(res.statusCode).toBe(201);
      const page = await wy.app.inject({ url: '/feedback' });
      expect(page.body).toContain('<strong class="name">&lt;script&gt;alert(1)&lt;/script&gt;</strong>');
      expect(page.body).toContain('<p class="message">&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; &#39;too&#39;</p>');
      expect(page.body).not.toContain('<script');
      expect(page.body).not.toContain('<img');
      const csp = page.headers['content-security-policy'] as string;
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('script-src');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['cache-control']).toBe('no-store');
      // JSON carries the text as it was given
      expect((await json('/feedback.json')).items[0].name).toBe('<script>alert(1)</script>');
    });

    it('serves a home page linking to every part of Workyard', async () => {
      const res = await wy.app.inject({ url: '/' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      for (const href of ['/feedback', '/docs', '/dashboard', '/metrics', '/stats/', '/blobs', '/images_tasks', '/text_tasks', '/async/tasks']) {
        expect(res.body, href).toContain(`<a href="${href}">`);
      }
    });

    it('publishes both post routes with both body types in the OpenAPI document', async () => {
      const spec = (await wy.app.inject({ url: '/openapi.json' })).json();
      for (const path of ['/feedback/sync', '/feedback/async']) {
        expect(Object.keys(spec.paths[path].post.requestBody.content).sort()).toEqual(['application/json', 'application/x-www-form-urlencoded']);
      }
      expect(spec.paths['/feedback.json'].get).toBeDefined();
    });
  });
}
