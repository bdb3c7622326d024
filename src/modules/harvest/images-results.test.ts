// What an images task gives back beyond the seed's list: images found wherever the page declares
// them, each with the format and size its bytes say, and the whole set as a zip with a manifest,
// read back with a real unzip library (yauzl). Fixture site on 127.0.0.1.
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { type FixtureSite, bytes, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { solidPng } from '../../../test/support/png.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { archiveName } from './archive-route.js';
import { dimensionsOf } from './image-dimensions.js';
import { createHarvestModule } from './index.js';

const hero = solidPng(300, 200);
const thumb = solidPng(64, 32, [10, 120, 10]);
const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="48" height="24"><rect width="48" height="24"/></svg>');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, file) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      file.on('entry', (entry: yauzl.Entry) => {
        file.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            file.readEntry();
          });
        });
      });
      file.on('end', () => resolve(entries));
      file.on('error', reject);
      file.readEntry();
    });
  });
}

describe('image dimensions and archive names (unit)', () => {
  it('reads format, width and height from the bytes, and nothing from bytes that are no image it knows', async () => {
    expect(await dimensionsOf(hero)).toEqual({ format: 'png', width: 300, height: 200 });
    expect(await dimensionsOf(svg)).toEqual({ format: 'svg', width: 48, height: 24 });
    expect(await dimensionsOf(Buffer.from('not an image at all'))).toEqual({ format: null, width: null, height: null });
  });

  it('names an entry by its place on the page and a safe file name, the extension from its format', () => {
    expect(archiveName(0, 'https://cdn.test/a/Cat%20Photo.JPEG?x=1', 'jpg', 'image/jpeg')).toBe('0001-Cat_Photo.jpg');
    expect(archiveName(41, 'https://cdn.test/../../etc/passwd', null, 'image/png')).toBe('0042-passwd.png');
    expect(archiveName(2, 'https://cdn.test/', 'webp', null)).toBe('0003-image.webp');
    expect(archiveName(3, 'data:image/png;base64,AAAA', 'png', 'image/png')).toBe('0004-image.png');
    // a server's Content-Type naming an object's prototype is an unknown type, not a function
    expect(archiveName(4, 'https://cdn.test/x.gif', null, 'image/constructor')).toBe('0005-x.gif');
    expect(archiveName(5, 'https://cdn.test/y', 'toString', 'image/__proto__')).toBe('0006-y');
  });
});

describe('images tasks: every declared image, its dimensions, and the archive (fixture site on 127.0.0.1)', () => {
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/robots.txt': (_request, response) => void response.writeHead(404).end(),
      '/page.html': html(`<html><head><meta property="og:image" content="/social/hero.png"><style>.b { background: url(/css/thumb.png) }</style></head>
        <body><div class="b"></div><div style="background-image: url('/icons/logo.svg')"></div><img src="/social/hero.png"></body></html>`),
      '/srcset.html': html('<img src="/social/hero.png" srcset="/css/thumb.png 2x">'),
      '/social/hero.png': bytes(hero, 'image/png'),
      '/css/thumb.png': bytes(thumb, 'image/png'),
      '/icons/logo.svg': bytes(svg, 'image/svg+xml'),
    });
  });
  afterAll(() => site?.close());
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' }, { modules: [createHarvestModule()] }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  it('stores the images of Open Graph, a stylesheet and a style attribute, with format, width and height, and zips them with a manifest', async () => {
    const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/page.html` } });
    await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 20_000);
    const id = posted.json().id;
    const images = (await inject({ url: `/images_tasks/${id}/images` })).json();
    expect(images.map((image: { src: string; format: string; width: number; height: number; error: null }) => [image.src, image.format, image.width, image.height, image.error])).toEqual([
      [`${site.url}/social/hero.png`, 'png', 300, 200, null],
      [`${site.url}/css/thumb.png`, 'png', 64, 32, null],
      [`${site.url}/icons/logo.svg`, 'svg', 48, 24, null],
    ]);

    const zip = await inject({ url: `/images_tasks/${id}/archive.zip` });
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.headers['content-disposition']).toBe(`attachment; filename="images-${id}.zip"`);
    const entries = await unzip(zip.rawPayload);
    expect([...entries.keys()]).toEqual(['manifest.json', '0001-hero.png', '0002-thumb.png', '0003-logo.svg']);
    expect(entries.get('0001-hero.png')!.equals(hero)).toBe(true);
    expect(entries.get('0003-logo.svg')!.equals(svg)).toBe(true);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString());
    expect(manifest.images[1]).toEqual({ file: '0002-thumb.png', url: `${site.url}/css/thumb.png`, page_url: `${site.url}/page.html`, sha256: sha256(thumb), size: thumb.length, content_type: 'image/png', format: 'png', width: 64, height: 32 });
    expect((await inject({ url: '/images_tasks/nope/archive.zip' })).statusCode).toBe(404);

    // thumbnails: WebP, the longest side 256 px, never enlarged; made once, then read back
    const [heroRow, , logoRow] = images as { id: string; thumbnail: string }[];
    expect(heroRow.thumbnail).toBe(`/images_tasks/${id}/images/${heroRow.id}/thumbnail`);
    const first = await inject({ url: heroRow.thumbnail });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('image/webp');
    expect(await dimensionsOf(first.rawPayload)).toEqual({ format: 'webp', width: 256, height: 171 });
    expect(await wy.workyard.ctx.blobs.head(`harvest/thumbnails/${sha256(hero).slice(0, 2)}/${sha256(hero)}.webp`)).not.toBeNull();
    expect((await inject({ url: heroRow.thumbnail })).rawPayload.equals(first.rawPayload)).toBe(true);
    expect(await dimensionsOf((await inject({ url: logoRow.thumbnail })).rawPayload)).toEqual({ format: 'webp', width: 48, height: 24 });
    expect((await inject({ url: `/images_tasks/${id}/images/nope/thumbnail` })).statusCode).toBe(404);
  });

  it('takes the largest candidate of a srcset, or every one with all: true', async () => {
    const srcs = async (payload: Record<string, unknown>) => {
      const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/srcset.html`, ...payload } });
      await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 20_000);
      return (await inject({ url: `/images_tasks/${posted.json().id}/images` })).json().map((row: { src: string }) => row.src.replace(site.url, ''));
    };
    expect(await srcs({})).toEqual(['/css/thumb.png']);
    expect(await srcs({ all: true })).toEqual(['/social/hero.png', '/css/thumb.png']);
  });

  it('keeps only the images a task\'s filters allow, saying why of the others', async () => {
    const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/page.html`, min_width: 100, types: ['png', 'jpg'] } });
    expect(posted.statusCode).toBe(202);
    await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 20_000);
    const task = (await inject({ url: `/images_tasks/${posted.json().id}` })).json();
    expect(task).toMatchObject({ status: 'done', images_count: 1, images_failed: 2 });
    const rows = (await inject({ url: `/images_tasks/${task.id}/images` })).json();
    expect(rows.map((row: { error: string | null; href: string | null }) => [row.error, row.href === null])).toEqual([
      [null, false],
      ['filtered out: 64 px wide, below min_width 100', true],
      ['filtered out: svg is not one of png, jpg', true],
    ]);
    const tallOnly = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/page.html`, min_height: 100 } });
    await wy.workyard.ctx.queue.waitForFinish(tallOnly.json().id, 20_000);
    expect((await inject({ url: `/images_tasks/${tallOnly.json().id}` })).json()).toMatchObject({ images_count: 1, images_failed: 2 });
    for (const [payload, field] of [
      [{ url: `${site.url}/page.html`, types: ['exe'] }, 'types'],
      [{ url: `${site.url}/page.html`, min_width: 0 }, 'min_width'],
    ] as const) {
      const refused = await inject({ method: 'POST', url: '/images_tasks', payload });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.field).toMatch(new RegExp(`^${field}`));
    }
    expect((await inject({ method: 'POST', url: '/text_tasks', payload: { url: `${site.url}/page.html`, min_width: 10 } })).statusCode).toBe(400);
  });
});
