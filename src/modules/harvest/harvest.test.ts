// Harvest end to end: a Workyard (SQL queue, disk blobs; records on SQLite, then on PostgreSQL)
// harvesting a fixture site the test serves on 127.0.0.1, with private addresses allowed.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../app.js';
import { type FixtureSite, bytes, fakePng, html, redirect, slow, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { type S3rverHandle, startS3rver } from '../../../test/support/s3rver.js';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { createHarvestModule } from './index.js';
import { tablesOf } from '../../../test/support/tables.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const MAX_IMAGE_BYTES = 100_000;
const DEAD_PORT = 1;
const png = (name: string, size = 300) => fakePng(name, size);

const pgAvailable = await needService('postgres');

/** The tests' DNS: every name is unknown, as getaddrinfo says it (URLs with an IP address never ask). */
const noSuchHost = async () => {
  throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
};

describe('harvest, records on SQLite (fixture site on 127.0.0.1, private addresses allowed)', () => harvestSuite('sqlite'));
// the scaled shape's pair: records on PostgreSQL, image packs on S3 (read back by range)
describe.skipIf(!pgAvailable)('harvest, records on PostgreSQL, bytes on S3 (s3rver; fixture site on 127.0.0.1, private addresses allowed)', () => harvestSuite('postgres'));

function harvestSuite(records: 'sqlite' | 'postgres') {
  let site: FixtureSite;
  let wy: TestWorkyard;
  let dropDatabase = async () => {};
  let s3: S3rverHandle | undefined;
  let deadSite: string;

  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  async function submit(kind: 'images' | 'text', path: string): Promise<string> {
    const res = await inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: `${site.url}${path}` } });
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe('queued');
    expect(res.headers.location).toBe(`/${kind}_tasks/${res.json().id}`);
    return res.json().id;
  }

  async function finished(kind: 'images' | 'text', id: string) {
    await wy.workyard.ctx.queue.waitForFinish(id, 20_000);
    const res = await inject({ url: `/${kind}_tasks/${id}` });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  async function harvest(kind: 'images' | 'text', path: string) {
    return finished(kind, await submit(kind, path));
  }

  const imagesOf = async (id: string) => (await inject({ url: `/images_tasks/${id}/images` })).json() as { id: string; src: string; content_type: string | null; size: number | null; sha256: string | null; href: string | null; error: string | null }[];

  beforeAll(async () => {
    const dataImage = png('inline', 64).toString('base64');
    const GALLERY = `<!doctype html><html><head><link rel="icon" href="/favicon.ico"></head><body>
        <img src="rel.png">
        <img src="SITE/abs.png">
        <img srcset="s1.png 1x, s2.png 2x">
        <picture><source srcset="/pic.webp 800w"><img src="rel.png"></picture>
        <img data-src="/lazy.png" alt="">
        <img src="data:image/png;base64,${dataImage}">
        <img src="/private/hidden.png">
      </body></html>`;
    site = await startFixtureSite({
      '/robots.txt': (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /private/\n'),
      '/based/page.html': html('<html><head><base href="/assets/"></head><body><img src="logo.png"></body></html>'),
      '/rel.png': bytes(png('rel'), 'image/png'),
      '/abs.png': bytes(png('abs'), 'image/png'),
      '/s1.png': bytes(png('s1'), 'image/png'),
      '/s2.png': bytes(png('s2'), 'image/png'),
      '/pic.webp': bytes(Buffer.concat([Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1'), Buffer.alloc(100, 7)]), 'image/webp'),
      '/lazy.png': bytes(png('lazy'), 'application/octet-stream'), // sniffed
      '/favicon.ico': bytes(Buffer.concat([Buffer.from([0, 0, 1, 0, 1, 0]), Buffer.alloc(60, 1)]), 'image/vnd.microsoft.icon'),
      '/assets/logo.png': bytes(png('logo'), 'image/png'),
      '/private/hidden.png': bytes(png('hidden'), 'image/png'),

      '/page-a.html': html('<img src="/shared.png"><img src="/only-a.png">'),
      '/page-b.html': html('<img src="/shared.png">'),
      '/shared.png': bytes(png('shared'), 'image/png'),
      '/only-a.png': bytes(png('only-a'), 'image/png'),

      '/twins.html': html('<img src="/twin-1.png"><img src="/twin-2.png?v=2">'),
      '/twin-1.png': bytes(png('twin'), 'image/png'),
      '/twin-2.png': bytes(png('twin'), 'image/png'),

      '/bad-images.html': html('<img src="/good.png"><img src="/broken.png"><img src="/missing.png"><img src="/not-image.png"><img src="/huge.png"><img src="/huge-chunked.png"><img src="data:text/plain,hello">'),
      '/good.png': bytes(png('good'), 'image/png'),
      '/broken.png': bytes(Buffer.from('this is not a PNG at all'), 'image/png'),
      '/not-image.png': html('<html><body>an error page</body></html>'),
      '/huge.png': bytes(png('huge', MAX_IMAGE_BYTES + 1), 'image/png'),
      '/huge-chunked.png': (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(png('huge-chunked', MAX_IMAGE_BYTES + 5_000));
      },

      '/flaky.html': html('<img src="/flaky.png">'),
      '/loop.html': redirect('/loop.html'),
      '/slow.html': slow(10_000, html('<p>too late</p>')),
      '/data.json': (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'),
      '/no-type.html': (_req, res) => void res.writeHead(200).end('<p>no content type</p>'),
      '/gone.html': (_req, res) => void res.writeHead(410, { 'content-type': 'text/html' }).end('gone'),
      '/private/page.html': html('<p>secret</p>'),
      '/moved.html': redirect('/article.html', 301),
      '/article.html': html(`<!doctype html><html><head><title>T</title><style>body{font:12px}</style><script>document.write("x")</script></head>
        <body><header><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
        <main><article><h1>The   title</h1><p>First <b>bold</b> and <i>italic</i>
        paragraph.</p><div><div><p>Deeply nested</p><ul><li>one</li><li>two</li></ul></div></div>
        <script type="application/ld+json">{"hidden":true}</script><noscript>Turn on JavaScript</noscript>
        <template><p>template</p></template><p>Last &amp; final.</p></article></main></body></html>`),
      '/styled.html': html(`<body><p>Visible</p><div style="display:none">cookie notice</div><p style="Display : None !important">spam trap</p>
        <section style="visibility: hidden">hidden menu <a style="visibility:visible">but this link shows</a></section><p>Also visible</p></body>`),
      '/latin1.html': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(Buffer.concat([Buffer.from('<meta charset="iso-8859-1"><p>Caf'), Buffer.from([0xe9]), Buffer.from('</p>')]));
      },
    });
    // A page that names its own origin in the markup.
    site.route('/gallery.html', html(GALLERY.replace('SITE', site.url)));
    // A port nothing listens on: the site there is down. Port 1, below the ephemeral range: a port
    // closed after use was taken by another test's server meanwhile in one CI run (it answered 404).
    deadSite = `http://127.0.0.1:${DEAD_PORT}`;
    site.route('/dead-images.html', html(`<img src="${deadSite}/pic.png"><img src="/rel.png">`));
    let flakyCalls = 0;
    site.route('/flaky.png', (_req, res) => {
      flakyCalls++;
      // 500, not 503: a 503 is asked again within the task after its Retry-After (politeness.test.ts)
      if (flakyCalls === 1) return void res.writeHead(500, { 'content-type': 'text/plain' }).end('try later');
      res.writeHead(200, { 'content-type': 'image/png' }).end(png('flaky'));
    });

    let databaseUrl: string | undefined;
    let blobsOnS3: Record<string, string> = {};
    if (records === 'postgres') {
      const database = await createTestDatabase();
      databaseUrl = database.url;
      dropDatabase = database.drop;
      s3 = await startS3rver();
      blobsOnS3 = s3.env('harvest');
    }
    wy = await startTestWorkyard(
      { WORKYARD_HARVEST_ALLOW_PRIVATE: 'true', WORKYARD_HARVEST_MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES), WORKYARD_DATABASE_URL: databaseUrl, ...blobsOnS3 },
      { modules: [tasksModule, createHarvestModule({ timeouts: { totalMs: 1_500, headersMs: 1_000, bodyIdleMs: 1_000 }, waitPollMs: 10, lookup: noSuchHost })] },
    );
  });
  afterAll(async () => {
    await wy?.close();
    await dropDatabase();
    await s3?.stop();
    await site?.close();
  });

  it('collects relative, absolute, srcset, picture, lazy, icon and data: images, honouring robots.txt', async () => {
    const task = await harvest('images', '/gallery.html');
    expect(task).toMatchObject({ status: 'done', error: null, images_count: 7, images_failed: 1, url: `${site.url}/gallery.html` });
    expect(task.finished_at).toEqual(expect.any(String));
    const images = await imagesOf(task.id);
    const bySrc = Object.fromEntries(images.map((image) => [image.src.startsWith('data:') ? 'data' : image.src.replace(site.url, ''), image]));
    // In the order they stand in the page, the icon in <head> first.
    expect(images.map((image) => (image.src.startsWith('data:') ? 'data' : image.src.replace(site.url, '')))).toEqual([
      '/favicon.ico', '/rel.png', '/abs.png', '/s2.png', '/pic.webp', '/lazy.png', 'data', '/private/hidden.png',
    ]);
    expect(bySrc['/rel.png']).toMatchObject({ content_type: 'image/png', size: 300, error: null, href: `/images_tasks/${task.id}/images/${bySrc['/rel.png'].id}` });
    expect(bySrc['/lazy.png'].content_type).toBe('image/png'); // sniffed: the server said application/octet-stream
    expect(bySrc['/pic.webp'].content_type).toBe('image/webp');
    expect(bySrc['/favicon.ico'].content_type).toBe('image/x-icon');
    expect(bySrc.data).toMatchObject({ content_type: 'image/png', size: 64, error: null });
    expect(bySrc['/private/hidden.png']).toMatchObject({ href: null, sha256: null, error: expect.stringContaining('robots.txt of') });
    expect(site.hits('/private/hidden.png')).toBe(0);
    expect(site.hits('/robots.txt')).toBe(1);
    expect([...site.userAgents]).toEqual([`Workyard/${VERSION} (+harvest)`]);

    const served = await inject({ url: bySrc['/abs.png'].href! });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.headers['x-content-type-options']).toBe('nosniff');
    expect(served.headers['content-security-policy']).toContain('sandbox');
    expect(served.rawPayload.equals(png('abs'))).toBe(true);
  });

  it('resolves against <base href>', async () => {
    const task = await harvest('images', '/based/page.html');
    const images = await imagesOf(task.id);
    expect(images.map((image) => image.src)).toEqual([`${site.url}/assets/logo.png`]);
    expect(images[0].error).toBeNull();
  });

  it('stores an image found on two pages once and links it to both tasks, without downloading it again', async () => {
    const a = await harvest('images', '/page-a.html');
    const b = await harvest('images', '/page-b.html');
    expect(a.images_count).toBe(2);
    expect(b.images_count).toBe(1);
    const sharedOfA = (await imagesOf(a.id)).find((image) => image.src.endsWith('/shared.png'))!;
    const sharedOfB = (await imagesOf(b.id))[0];
    expect(sharedOfB.id).toBe(sharedOfA.id);
    expect(site.hits('/shared.png')).toBe(1);
    const bytesViaB = await inject({ url: sharedOfB.href! });
    expect(bytesViaB.rawPayload.equals(png('shared'))).toBe(true);
  });

  it('stores the same bytes under two URLs once (by sha256)', async () => {
    const task = await harvest('images', '/twins.html');
    const [one, two] = await imagesOf(task.id);
    expect(one.id).not.toBe(two.id);
    expect(one.sha256).toBe(two.sha256);
    const db = tablesOf(wy.workyard.ctx.database);
    expect(await db.selectFrom('harvest_blobs').where('sha256', '=', one.sha256).selectAll().execute()).toHaveLength(1);
    // once in the blob store too: the bytes appear in one pack, once
    const { blobs } = wy.workyard.ctx;
    const packs = (await blobs.list({ prefix: 'harvest/packs/', limit: 1_000 })).items;
    expect(packs.length).toBeGreaterThan(0);
    let copies = 0;
    for (const pack of packs) {
      const held = Buffer.concat(await (await blobs.get(pack.key))!.body.toArray());
      for (let at = held.indexOf(png('twin')); at !== -1; at = held.indexOf(png('twin'), at + 1)) copies++;
    }
    expect(copies).toBe(1);
  });

  it('records broken, missing, non-image and oversize images as errors and still finishes the task', async () => {
    const task = await harvest('images', '/bad-images.html');
    expect(task).toMatchObject({ status: 'done', images_count: 1, images_failed: 6 });
    const errors = Object.fromEntries((await imagesOf(task.id)).map((image) => [image.src.replace(site.url, ''), image.error]));
    expect(errors).toEqual({
      '/good.png': null,
      '/broken.png': `broken image: ${site.url}/broken.png is declared image/png but its bytes are not one`,
      '/missing.png': `HTTP 404 from ${site.url}/missing.png`,
      '/not-image.png': `not an image: ${site.url}/not-image.png is text/html`,
      '/huge.png': `${site.url}/huge.png is larger than ${MAX_IMAGE_BYTES} bytes (WORKYARD_HARVEST_MAX_IMAGE_BYTES)`,
      '/huge-chunked.png': `${site.url}/huge-chunked.png is larger than ${MAX_IMAGE_BYTES} bytes (WORKYARD_HARVEST_MAX_IMAGE_BYTES)`,
      'data:text/plain,hello': 'not an image: data: URL is text/plain',
    });
    const notStored = (await imagesOf(task.id)).find((image) => image.error !== null)!;
    expect((await inject({ url: `/images_tasks/${task.id}/images/${notStored.id}` })).statusCode).toBe(404);
    // The job's log tells an operator the same in a few lines: the page, what was found, the first failures.
    const logs = (await inject({ url: `/tasks/${task.id}/logs` })).json().logs.map((line: { message: string }) => line.message);
    expect(logs[0]).toMatch(new RegExp(`^page fetched: ${site.url}/bad-images.html \\(HTTP 200, \\d+ bytes\\)$`));
    expect(logs.slice(1, 3)).toEqual(['7 images found', '1 image stored, 6 failed']);
    expect(logs.slice(3, 8)).toHaveLength(5);
    for (const line of logs.slice(3, 8)) expect(Object.entries(errors).map(([src, error]) => `image failed: ${src.startsWith('data:') ? src : site.url + src}: ${error}`)).toContain(line);
    expect(logs.slice(8)).toEqual(['and 1 more images failed']);
  });

  it('tries an image that failed before again', async () => {
    const first = await harvest('images', '/flaky.html');
    expect(first).toMatchObject({ status: 'done', images_count: 0, images_failed: 1 });
    expect((await imagesOf(first.id))[0].error).toBe(`HTTP 500 from ${site.url}/flaky.png`);
    const second = await harvest('images', '/flaky.html');
    expect(second).toMatchObject({ status: 'done', images_count: 1, images_failed: 0 });
    expect(site.hits('/flaky.png')).toBe(2);
    // The first task keeps its own outcome.
    expect((await imagesOf(first.id))[0].error).toBe(`HTTP 500 from ${site.url}/flaky.png`);
  });

  it('fails the task of a page that is a redirect loop, too slow, not HTML, gone or disallowed — with a clear error', async () => {
    const started = Date.now();
    const [loop, slowPage, json, noType, gone, robots] = await Promise.all([
      harvest('images', '/loop.html'),
      harvest('text', '/slow.html'),
      harvest('images', '/data.json'),
      harvest('text', '/no-type.html'),
      harvest('text', '/gone.html'),
      harvest('images', '/private/page.html'),
    ]);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(loop).toMatchObject({ status: 'failed', error: `redirect loop: ${site.url}/loop.html → ${site.url}/loop.html` });
    // Too slow either way: the headers' timeout (1 s from the request) usually fires first, but on a
    // loaded machine the task's whole budget (1.5 s, robots.txt included) can run out before it.
    expect(slowPage.status).toBe('failed');
    expect([`no response from ${site.url}/slow.html within 1000 ms`, `no complete answer from ${site.url}/slow.html within 1500 ms`]).toContain(slowPage.error);
    expect(json).toMatchObject({ status: 'failed', error: `not an HTML page: ${site.url}/data.json is application/json (text/html or application/xhtml+xml expected)` });
    expect(noType.error).toBe(`not an HTML page: ${site.url}/no-type.html is without a content type (text/html or application/xhtml+xml expected)`);
    expect(gone).toMatchObject({ status: 'failed', error: `HTTP 410 from ${site.url}/gone.html` });
    expect(robots.error).toBe(`robots.txt of ${site.url} disallows /private/page.html (WORKYARD_HARVEST_RESPECT_ROBOTS=false to ignore robots.txt)`);
    expect(site.hits('/private/page.html')).toBe(0);
    for (const task of [loop, slowPage, json]) expect(task.finished_at).toEqual(expect.any(String));
  });

  it('extracts the visible text of a page with scripts, styles and nested blocks, following a redirect', async () => {
    const task = await harvest('text', '/moved.html');
    expect(task).toMatchObject({ status: 'done', error: null });
    const res = await inject({ url: `/text_tasks/${task.id}/text` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe(['Home | About', 'The title', 'First bold and italic paragraph.', 'Deeply nested', 'one', 'two', 'Last & final.'].join('\n'));
    expect(task.text_length).toBe(res.body.length);
  });

  it('drops the text an inline style hides (display:none, visibility:hidden), as it drops hidden elements', async () => {
    const task = await harvest('text', '/styled.html');
    expect(task).toMatchObject({ status: 'done', error: null });
    expect((await inject({ url: `/text_tasks/${task.id}/text` })).body).toBe(['Visible', 'but this link shows', 'Also visible'].join('\n'));
  });

  it('reports a page on a host that is down or has no address as unreachable, with the cause, not as a robots.txt failure', async () => {
    for (const kind of ['text', 'images'] as const) {
      const down = finished(kind, (await inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: `${deadSite}/page.html` } })).json().id);
      const unknown = finished(kind, (await inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: 'http://no-such-host.test/page.html' } })).json().id);
      const port = new URL(deadSite).host;
      expect(await down).toMatchObject({ status: 'failed', error: `${deadSite}/page.html is unreachable: connection refused by ${port}` });
      expect(await unknown).toMatchObject({ status: 'failed', error: 'http://no-such-host.test/page.html is unreachable: host not found: no-such-host.test' });
    }
  });

  it('records an image on a host that is down as unreachable, and still collects the others', async () => {
    const task = await harvest('images', '/dead-images.html');
    expect(task).toMatchObject({ status: 'done', images_count: 1, images_failed: 1 });
    const [dead, alive] = await imagesOf(task.id);
    expect(dead).toMatchObject({ src: `${deadSite}/pic.png`, error: `${deadSite}/pic.png is unreachable: connection refused by ${new URL(deadSite).host}` });
    expect(alive).toMatchObject({ src: `${site.url}/rel.png`, error: null });
  });

  it('decodes the page in the charset its <meta> names', async () => {
    const task = await harvest('text', '/latin1.html');
    expect((await inject({ url: `/text_tasks/${task.id}/text` })).body).toBe('Café');
  });

  it('answers 409 for the text of a task that is not done, and 404 for unknown tasks', async () => {
    const failed = await harvest('text', '/gone.html');
    const res = await inject({ url: `/text_tasks/${failed.id}/text` });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'conflict', message: expect.stringContaining('is failed (HTTP 410') });
    expect((await inject({ url: '/text_tasks/nope' })).statusCode).toBe(404);
    expect((await inject({ url: '/images_tasks/nope/images' })).statusCode).toBe(404);
    expect((await inject({ url: '/images_tasks/nope/images/nope' })).statusCode).toBe(404);
    // A text task is not an images task.
    expect((await inject({ url: `/images_tasks/${failed.id}` })).statusCode).toBe(404);
  });

  it('refuses bad input with 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ url: 'not a url' }, 'url'],
      [{ url: 'ftp://example.com/' }, 'url'],
      [{ url: 'javascript:alert(1)' }, 'url'],
      [{ url: 'http://user:pw@example.com/' }, 'url'],
      [{ url: 42 }, 'url'],
      [{}, 'url'],
      [{ url: 'http://example.com/', extra: 1 }, 'extra'],
      [{ url: 'http://example.com/' + 'a'.repeat(5_000) }, 'url'],
    ];
    for (const [payload, field] of cases) {
      for (const kind of ['images', 'text']) {
        const res = await inject({ method: 'POST', url: `/${kind}_tasks`, payload: payload as object });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
      }
    }
    const badQuery = await inject({ url: '/images_tasks?limit=0' });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.field).toBe('limit');
  });

  it('lists tasks newest first with limit and offset', async () => {
    const ids = [];
    for (const path of ['/article.html', '/latin1.html', '/moved.html']) ids.push(await submit('text', path));
    await Promise.all(ids.map((id) => wy.workyard.ctx.queue.waitForFinish(id, 20_000)));
    const page1 = (await inject({ url: '/text_tasks?limit=2' })).json();
    const page2 = (await inject({ url: '/text_tasks?limit=2&offset=2' })).json();
    expect(page1.map((t: { id: string }) => t.id)).toEqual([ids[2], ids[1]]);
    expect(page2[0].id).toBe(ids[0]);
    expect(page1[0]).toMatchObject({ status: 'done', url: `${site.url}/moved.html`, text_length: expect.any(Number) });
    const images = (await inject({ url: '/images_tasks?limit=100' })).json();
    expect(images.length).toBeGreaterThan(3);
    expect(images.every((t: { images_count: number }) => typeof t.images_count === 'number')).toBe(true);
  });

  it('publishes its routes in the OpenAPI document', async () => {
    const spec = (await inject({ url: '/openapi.json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/images_tasks', '/images_tasks/{id}', '/images_tasks/{id}/images', '/images_tasks/{id}/images/{imageId}', '/text_tasks', '/text_tasks/{id}', '/text_tasks/{id}/text']),
    );
  });
}

describe('harvest task cancelled before a worker took it (API-only process)', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({}, { worker: false, modules: [tasksModule, createHarvestModule()] }));

  it('reports the task failed, saying it was cancelled', async () => {
    const posted = await wy.workyard.app.inject({ method: 'POST', url: '/text_tasks', payload: { url: 'https://example.com/' } });
    const { id } = posted.json();
    expect((await wy.workyard.app.inject({ url: `/text_tasks/${id}` })).json().status).toBe('queued');
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${id}` })).statusCode).toBe(200);
    const task = (await wy.workyard.app.inject({ url: `/text_tasks/${id}` })).json();
    expect(task).toMatchObject({ status: 'failed', error: 'cancelled before it ran', finished_at: expect.any(String) });
    expect((await wy.workyard.app.inject({ url: '/text_tasks' })).json()[0]).toMatchObject({ id, status: 'failed' });
  });
});
