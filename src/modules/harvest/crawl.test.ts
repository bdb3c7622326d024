// max_pages and max_depth: one task harvests a small site, breadth first, following same-site links
// only, with robots.txt applying to every page; each page's text and images keep their page URL.
// A fixture site of 20 linked pages on 127.0.0.1, a second site on localhost that must never be
// asked; on SQLite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureSite, bytes, fakePng, html, slow, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { createHarvestModule } from './index.js';

const PAGES = 20;
// page i links to 2i+1 and 2i+2 (a binary tree): its depth is floor(log2(i + 1))
const children = (i: number) => [2 * i + 1, 2 * i + 2].filter((child) => child < PAGES);
const depthOf = (i: number) => Math.floor(Math.log2(i + 1));
// the order a breadth-first crawl meets them, the page Disallowed by robots.txt (linked from page 0, after its children) included
const BFS = ['/site/0.html', '/site/1.html', '/site/2.html', '/private.html', ...Array.from({ length: PAGES - 3 }, (_, k) => `/site/${k + 3}.html`)];

async function startSites(): Promise<{ site: FixtureSite; other: FixtureSite }> {
  const other = await startFixtureSite({ '/elsewhere.html': html('<p>another site</p>') }, { host: 'localhost' });
  const routes: Parameters<typeof startFixtureSite>[0] = {
    '/robots.txt': (_request, response) => void response.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /private.html\n'),
    '/shared.png': bytes(fakePng('shared'), 'image/png'),
    '/private.html': html('<p>kept out</p>'),
    '/slow/0.html': html('<img src="/slow/0.png"><a href="/slow/1.html">1</a> <a href="/slow/2.html">2</a>'),
    '/slow/1.html': slow(1_500, html('<img src="/slow/1.png">')),
    '/slow/2.html': html('<img src="/slow/2.png">'),
    '/slow/0.png': bytes(fakePng('slow 0'), 'image/png'),
    '/slow/1.png': bytes(fakePng('slow 1'), 'image/png'),
    '/quiet.html': html('<meta name="robots" content="nofollow"><p>quiet page</p><a href="/site/1.html">1</a>'),
  };
  for (let i = 0; i < PAGES; i++) {
    const links = children(i).map((child) => `<a href="/site/${child}.html#top">page ${child}</a>`).join(' ');
    const extra = i === 0 ? `<a href="/private.html">private</a> <a href="${other.url}/elsewhere.html">elsewhere</a> <a href="/report.pdf">pdf</a> <a href="mailto:x@example.com">mail</a> <a href="/site/0.html">home</a>` : '<a href="/site/0.html">home</a>';
    routes[`/site/${i}.html`] = html(`<title>Page ${i}</title><h1>word${i}x</h1><img src="/img/${i}.png"><img src="/shared.png">${links} ${extra}`);
    routes[`/img/${i}.png`] = bytes(fakePng(`page ${i}`), 'image/png');
  }
  return { site: await startFixtureSite(routes), other };
}

interface Page { position: number; url: string; depth: number; error: string | null; title: string | null; text_length: number | null; images_found: number | null }

function crawlSuite(name: string, env: () => Promise<Record<string, string>>, cleanup: () => Promise<void> = async () => {}) {
  describe(`crawl (${name})`, () => {
    let site: FixtureSite;
    let other: FixtureSite;
    beforeAll(async () => {
      ({ site, other } = await startSites());
    });
    afterAll(async () => {
      await site?.close();
      await other?.close();
      await cleanup();
    });
    const wy = suiteWorkyard(async () => startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true', ...(await env()) }, { modules: [createHarvestModule()] }));
    const run = async (kind: 'images' | 'text', payload: Record<string, unknown>) => {
      const posted = await wy.workyard.app.inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: `${site.url}/site/0.html`, ...payload } });
      expect(posted.statusCode, posted.body).toBe(202);
      const { id } = posted.json();
      await wy.workyard.ctx.queue.waitForFinish(id, 30_000);
      const task = (await wy.workyard.app.inject({ url: `/${kind}_tasks/${id}` })).json();
      expect(task.status, task.error).toBe('done');
      const pages = (await wy.workyard.app.inject({ url: `/${kind}_tasks/${id}/pages` })).json() as Page[];
      return { id, task, pages };
    };
    const hitsOf = () => new Map([...site.requests].filter(([path]) => path.endsWith('.html')));

    it('a text task crawls the whole site breadth first: every page once, robots.txt kept, no other site asked, the texts joined in crawl order', async () => {
      site.requests.clear();
      const { id, pages } = await run('text', { max_pages: 50, max_depth: 10 });
      expect(pages.map((page) => new URL(page.url).pathname)).toEqual(BFS);
      expect(pages.map((page) => page.position)).toEqual(BFS.map((_, position) => position));
      const privatePage = pages[3];
      expect(privatePage.error).toMatch(/robots\.txt .* disallows \/private\.html/);
      expect(privatePage.text_length).toBeNull();
      for (const page of pages.filter((p) => p.error === null)) {
        const i = Number(/(\d+)\.html$/.exec(page.url)![1]);
        expect(page).toMatchObject({ depth: depthOf(i), title: `Page ${i}` });
        expect(page.text_length).toBeGreaterThan(0);
      }
      // each page fetched once (the link back home and the #fragment links are the same pages), the private one never
      expect([...hitsOf().values()].every((hits) => hits === 1)).toBe(true);
      expect(site.hits('/private.html')).toBe(0);
      expect(site.hits('/report.pdf')).toBe(0);
      expect(other.requests.size).toBe(0);
      const text = (await wy.workyard.app.inject({ url: `/text_tasks/${id}/text?mode=full` })).body;
      const order = BFS.filter((path) => path.startsWith('/site/')).map((path) => text.indexOf(`word${/(\d+)/.exec(path)![1]}x`));
      expect(order.every((at) => at >= 0)).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      // the task's metadata stays its own page's
      expect((await wy.workyard.app.inject({ url: `/text_tasks/${id}` })).json().metadata.title).toBe('Page 0');
    });

    it('stops at max_pages (pages fetched, the refused one counted) and at max_depth', async () => {
      site.requests.clear();
      const five = await run('text', { max_pages: 5 });
      expect(five.pages.map((page) => new URL(page.url).pathname)).toEqual(BFS.slice(0, 5));
      expect(hitsOf().size).toBe(4);

      const shallow = await run('images', { max_pages: 50, max_depth: 1 });
      expect(shallow.pages.map((page) => [new URL(page.url).pathname, page.depth])).toEqual([['/site/0.html', 0], ['/site/1.html', 1], ['/site/2.html', 1], ['/private.html', 1]]);
      expect(shallow.task.images_count).toBe(4); // pages 0, 1, 2 and the shared image

      const alone = await run('text', {});
      expect(alone.pages).toEqual([{ position: 0, url: `${site.url}/site/0.html`, depth: 0, error: null, title: 'Page 0', text_length: alone.task.text_length, images_found: null }]);
    });

    it('an images task stores each image once, with the first page that declared it; the archive manifest names the pages', async () => {
      const { id, task, pages } = await run('images', { max_pages: 50, max_depth: 10 });
      expect(pages.filter((page) => page.error === null).every((page) => page.images_found === 2)).toBe(true);
      expect(task.images_count).toBe(PAGES + 1);
      const images = (await wy.workyard.app.inject({ url: `/images_tasks/${id}/images` })).json() as { src: string; page_url: string; error: string | null }[];
      expect(images).toHaveLength(PAGES + 1);
      const pageOf = new Map(images.map((image) => [new URL(image.src).pathname, new URL(image.page_url).pathname]));
      expect(pageOf.get('/shared.png')).toBe('/site/0.html');
      for (let i = 0; i < PAGES; i++) expect(pageOf.get(`/img/${i}.png`)).toBe(`/site/${i}.html`);
      expect(site.hits('/shared.png')).toBe(1);
    });

    it('spends budget_ms on pages too: once it is spent no page starts and no image is fetched', async () => {
      site.requests.clear();
      const { task, pages } = await run('images', { url: `${site.url}/slow/0.html`, max_pages: 10, budget_ms: 1_000 });
      // /slow/1.html started within the budget and took 1.5 s: nothing after it started
      expect(pages.map((page) => new URL(page.url).pathname)).toEqual(['/slow/0.html', '/slow/1.html']);
      expect(site.hits('/slow/2.html')).toBe(0);
      expect(task).toMatchObject({ images_count: 0, images_failed: 2 });
      expect(site.hits('/slow/0.png') + site.hits('/slow/1.png')).toBe(0);
    });

    it('follows no link from a page that asks robots not to', async () => {
      site.requests.clear();
      const posted = await wy.workyard.app.inject({ method: 'POST', url: '/text_tasks', payload: { url: `${site.url}/quiet.html`, max_pages: 10 } });
      await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 30_000);
      const pages = (await wy.workyard.app.inject({ url: `/text_tasks/${posted.json().id}/pages` })).json() as Page[];
      expect(pages.map((page) => page.url)).toEqual([`${site.url}/quiet.html`]);
      expect(site.hits('/site/1.html')).toBe(0);
    });

    it('refuses a max_pages or max_depth out of range with a 400 naming it', async () => {
      for (const [field, value] of [['max_pages', 0], ['max_pages', 1001], ['max_depth', -1], ['max_depth', 21]] as const) {
        const res = await wy.workyard.app.inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/site/0.html`, [field]: value } });
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
      }
      expect((await wy.workyard.app.inject({ url: '/text_tasks/nope/pages' })).statusCode).toBe(404);
    });
  });
}

crawlSuite('SQLite', async () => ({}));

const pgAvailable = await needService('postgres');
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
describe.skipIf(!pgAvailable)('on PostgreSQL', () => {
  crawlSuite('PostgreSQL', async () => {
    database = await createTestDatabase();
    return { WORKYARD_DATABASE_URL: database.url };
  }, async () => void (await database?.drop()));
});
