// The native routes over HTTP, on both stores, with write-behind off and on: the answers must
// not depend on where the bytes are.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverHandle, startS3rver } from '../../../test/support/s3rver.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { blobPath, rawRequest } from '../../../test/support/blobs.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.stop());

const MAX_BYTES = 3 * 1024 * 1024;
const variants = [
  { name: 'disk, write-through', env: () => ({}) },
  { name: 'disk, write-behind (SQLite)', env: () => ({ WORKYARD_BLOBS_WRITE_BEHIND: 'true' }) },
  // s3rver keeps the part of a PUT that arrived before its client vanished (S3 discards it).
  { name: 's3rver, write-through', env: () => s3.env('routes-through'), keepsCutBodies: true },
  { name: 's3rver, write-behind (SQLite)', env: () => ({ ...s3.env('routes-behind'), WORKYARD_BLOBS_WRITE_BEHIND: 'true' }) },
];

const md5Etag = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`;

describe.each(variants)('native blob routes: $name', (variant) => {
  // s3rver shares two cores with the other suites: a generous dependency deadline keeps it from flaking.
  const wy = suiteWorkyard(() => startTestWorkyard({ ...variant.env(), WORKYARD_BLOBS_MAX_BYTES: String(MAX_BYTES), WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);

  it('puts raw bytes and gets them back with their headers', async () => {
    const bytes = randomBytes(3000);
    const put = await inject({ method: 'PUT', url: '/blobs/photos/cat.png', headers: { 'content-type': 'image/png' }, payload: bytes });
    expect(put.statusCode).toBe(201);
    expect(put.json()).toEqual({ key: 'photos/cat.png', size: 3000, etag: md5Etag(bytes), sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(put.headers.etag).toBe(md5Etag(bytes));
    const get = await inject({ url: '/blobs/photos/cat.png' });
    expect(get.statusCode).toBe(200);
    expect(get.rawPayload.equals(bytes)).toBe(true);
    expect(get.headers).toMatchObject({ 'content-type': 'image/png', 'content-length': '3000', etag: md5Etag(bytes), 'accept-ranges': 'bytes' });
    expect(Date.parse(get.headers['last-modified'] as string)).toBeGreaterThan(Date.now() - 120_000);
  });

  it('keeps any content type and never parses the body, JSON and forms included', async () => {
    const notJson = Buffer.from('{"not": valid json');
    const put = await inject({ method: 'PUT', url: '/blobs/raw/json', headers: { 'content-type': 'application/json' }, payload: notJson });
    expect(put.statusCode).toBe(201);
    const get = await inject({ url: '/blobs/raw/json' });
    expect(get.headers['content-type']).toBe('application/json');
    expect(get.rawPayload.equals(notJson)).toBe(true);
    const form = await inject({ method: 'PUT', url: '/blobs/raw/form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1&b=2' });
    expect(form.statusCode).toBe(201);
    expect((await inject({ url: '/blobs/raw/form' })).body).toBe('a=1&b=2');
    const untyped = await rawRequest(wy.baseUrl, { method: 'PUT', path: '/blobs/raw/untyped', headers: { 'content-length': 3 }, body: Buffer.from('abc') });
    expect(untyped.status).toBe(201);
    expect((await inject({ url: '/blobs/raw/untyped' })).headers['content-type']).toBe('application/octet-stream');
  });

  it('stores an empty body', async () => {
    expect((await inject({ method: 'PUT', url: '/blobs/raw/empty' })).json()).toMatchObject({ size: 0 });
    const get = await inject({ url: '/blobs/raw/empty' });
    expect(get.statusCode).toBe(200);
    expect(get.headers['content-length']).toBe('0');
  });

  it('streams a chunked body of unknown length, small or large', async () => {
    for (const size of [10_000, 2 * 1024 * 1024]) {
      const bytes = randomBytes(size);
      const chunks = Array.from({ length: Math.ceil(size / 65536) }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
      const put = await rawRequest(wy.baseUrl, { method: 'PUT', path: `/blobs/chunked/${size}`, headers: { 'content-type': 'text/plain' }, body: Readable.from(chunks) });
      expect(put.status).toBe(201);
      expect(JSON.parse(put.body.toString())).toMatchObject({ size, etag: expect.stringMatching(/^".+"$/) });
      const get = await rawRequest(wy.baseUrl, { method: 'GET', path: `/blobs/chunked/${size}` });
      expect(get.body.equals(bytes)).toBe(true);
    }
  });

  it('overwrites', async () => {
    await inject({ method: 'PUT', url: '/blobs/over', payload: 'one' });
    await inject({ method: 'PUT', url: '/blobs/over', payload: 'two!' });
    expect((await inject({ url: '/blobs/over' })).body).toBe('two!');
  });

  describe('ranges', () => {
    beforeAll(async () => {
      await inject({ method: 'PUT', url: '/blobs/range/ten', payload: '0123456789' });
    });
    const get = (range: string, extra: Record<string, string> = {}) => inject({ url: '/blobs/range/ten', headers: { range, ...extra } });

    it.each([
      ['bytes=2-5', '2345', 'bytes 2-5/10'],
      ['bytes=7-', '789', 'bytes 7-9/10'],
      ['bytes=-3', '789', 'bytes 7-9/10'],
      ['bytes=0-0', '0', 'bytes 0-0/10'],
      ['bytes=8-100', '89', 'bytes 8-9/10'],
      ['bytes=-20', '0123456789', 'bytes 0-9/10'],
    ])('%s → 206 %s', async (range, body, contentRange) => {
      const res = await get(range);
      expect(res.statusCode).toBe(206);
      expect(res.body).toBe(body);
      expect(res.headers['content-range']).toBe(contentRange);
      expect(res.headers['content-length']).toBe(String(body.length));
    });

    it.each(['bytes=10-', 'bytes=10-20', 'bytes=-0'])('%s → 416 with the size', async (range) => {
      const res = await get(range);
      expect(res.statusCode).toBe(416);
      expect(res.headers['content-range']).toBe('bytes */10');
      expect(res.json().error).toMatchObject({ code: 'range_not_satisfiable', field: 'range' });
    });

    it.each(['bytes=0-1,4-5', 'bytes=5-2', 'items=0-1', 'bytes=abc', 'bytes=-'])('%s is ignored: 200 with the whole object', async (range) => {
      const res = await get(range);
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('0123456789');
    });

    it('honours If-Range only while the etag is the same', async () => {
      const etag = (await inject({ method: 'HEAD', url: '/blobs/range/ten' })).headers.etag as string;
      expect((await get('bytes=0-1', { 'if-range': etag })).statusCode).toBe(206);
      expect((await get('bytes=0-1', { 'if-range': '"other"' })).statusCode).toBe(200);
    });

    it('answers 404 for a range of a missing key', async () => {
      expect((await inject({ url: '/blobs/range/none', headers: { range: 'bytes=0-1' } })).statusCode).toBe(404);
      expect((await inject({ url: '/blobs/range/none', headers: { range: 'bytes=-1' } })).statusCode).toBe(404);
    });
  });

  describe('entity tags', () => {
    let etag: string;
    beforeAll(async () => {
      etag = (await inject({ method: 'PUT', url: '/blobs/etag/doc', payload: 'hello' })).json().etag;
    });

    it.each([
      ['the same etag', () => etag],
      ['a list holding it', () => `"nope", ${etag}`],
      ['its weak form', () => `W/${etag}`],
      ['*', () => '*'],
    ])('If-None-Match with %s → 304 without a body', async (_name, header) => {
      const res = await inject({ url: '/blobs/etag/doc', headers: { 'if-none-match': header() } });
      expect(res.statusCode).toBe(304);
      expect(res.body).toBe('');
      expect(res.headers.etag).toBe(etag);
      expect((await inject({ method: 'HEAD', url: '/blobs/etag/doc', headers: { 'if-none-match': header() } })).statusCode).toBe(304);
    });

    it('If-None-Match with another etag → 200, and 404 for a missing key', async () => {
      expect((await inject({ url: '/blobs/etag/doc', headers: { 'if-none-match': '"other"' } })).body).toBe('hello');
      expect((await inject({ url: '/blobs/etag/none', headers: { 'if-none-match': '*' } })).statusCode).toBe(404);
    });

    it('a new version has a new etag', async () => {
      await inject({ method: 'PUT', url: '/blobs/etag/doc2', payload: 'v1' });
      const first = (await inject({ method: 'HEAD', url: '/blobs/etag/doc2' })).headers.etag;
      await inject({ method: 'PUT', url: '/blobs/etag/doc2', payload: 'v2' });
      const res = await inject({ url: '/blobs/etag/doc2', headers: { 'if-none-match': first as string } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('v2');
    });
  });

  it('answers HEAD with the headers and no body, 404 when missing', async () => {
    await inject({ method: 'PUT', url: '/blobs/head/x', headers: { 'content-type': 'text/csv' }, payload: 'a,b\n' });
    const head = await rawRequest(wy.baseUrl, { method: 'HEAD', path: '/blobs/head/x' });
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject({ 'content-length': '4', 'content-type': 'text/csv', etag: md5Etag(Buffer.from('a,b\n')) });
    expect(head.body.length).toBe(0);
    expect((await rawRequest(wy.baseUrl, { method: 'HEAD', path: '/blobs/head/none' })).status).toBe(404);
  });

  it('deletes: 204, then 404', async () => {
    await inject({ method: 'PUT', url: '/blobs/del/x', payload: 'x' });
    expect((await inject({ method: 'DELETE', url: '/blobs/del/x' })).statusCode).toBe(204);
    expect((await inject({ url: '/blobs/del/x' })).statusCode).toBe(404);
    const again = await inject({ method: 'DELETE', url: '/blobs/del/x' });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('not_found');
  });

  it('lists with prefix, limit and cursor, in byte order', async () => {
    const keys = ['ls/b', 'ls/a', 'ls/é', 'ls/c/d', 'ls/Z'];
    for (const key of keys) await inject({ method: 'PUT', url: blobPath(key), headers: { 'content-type': 'text/plain' }, payload: key });
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const all = await inject({ url: '/blobs?prefix=ls/' });
    expect(all.statusCode).toBe(200);
    expect(all.json().items.map((item: { key: string }) => item.key)).toEqual(expected);
    expect(all.json().items[0]).toEqual({ key: expected[0], size: Buffer.byteLength(expected[0]), etag: md5Etag(Buffer.from(expected[0])), content_type: 'text/plain', last_modified: expect.any(String), sha256: createHash('sha256').update(expected[0]).digest('hex') });
    expect(all.json().next_cursor).toBeNull();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/blobs?prefix=ls/&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await inject({ url })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item: { key: string }) => item.key));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(expected);
    expect((await inject({ url: '/blobs?prefix=ls/c/' })).json().items.map((item: { key: string }) => item.key)).toEqual(['ls/c/d']);
  });

  it.each([['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'], ['prefix=%00', 'prefix'], ['cursor=', 'cursor']])('refuses a listing with %s naming %s', async (query, field) => {
    const res = await inject({ url: `/blobs?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe(field);
  });

  describe('key rules', () => {
    // 1,024 bytes: "k/", five segments of 66 "€" (198 bytes) and their "/", then nine "€".
    // (Segments stay short because s3rver keeps a key as a file path; S3 itself does not mind.)
    const longest = 'k/' + ('€'.repeat(66) + '/').repeat(5) + '€'.repeat(9);
    it('takes a key of 1,024 bytes of UTF-8 with slashes', async () => {
      expect(Buffer.byteLength(longest)).toBe(1024);
      expect((await inject({ method: 'PUT', url: blobPath(longest), payload: 'x' })).statusCode).toBe(201);
      expect((await inject({ url: blobPath(longest) })).body).toBe('x');
    });

    it.each([
      ['empty', '/blobs/'],
      ['a leading slash', '/blobs//a'],
      ['a trailing slash', '/blobs/a/'],
      ['an empty segment', '/blobs/a//b'],
      ['a "." segment', '/blobs/a%2F.%2Fb'],
      ['a ".." segment', '/blobs/a%2F..%2Fb'],
      ['only ".."', '/blobs/..%2F..%2Fetc%2Fpasswd'],
      ['NUL', '/blobs/a%00b'],
      ['a newline', '/blobs/a%0Ab'],
      ['DEL', '/blobs/a%7Fb'],
      ['a C1 control', '/blobs/a%C2%85b'],
      ['1,025 bytes', '/blobs/' + 'x'.repeat(1025)],
      ['1,026 bytes of multibyte text', '/blobs/' + '%C3%A9'.repeat(513)],
    ])('refuses %s with a 400 naming key, on every method', async (_name, url) => {
      for (const method of ['PUT', 'GET', 'HEAD', 'DELETE'] as const) {
        const res = await inject({ method, url, payload: method === 'PUT' ? 'x' : undefined });
        expect(res.statusCode, `${method} ${url}`).toBe(400);
        if (method !== 'HEAD') expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'key' });
      }
    });
  });

  describe('size limit', () => {
    it('answers 413 before reading a body whose Content-Length is too large', async () => {
      // Only a few bytes follow the header: an answer that waited for the body would never come.
      const started = Date.now();
      const res = await rawRequest(wy.baseUrl, {
        method: 'PUT',
        path: '/blobs/big/announced',
        headers: { 'content-length': MAX_BYTES + 1 },
        body: Readable.from((async function* () {
          yield Buffer.alloc(10);
          await new Promise((resolve) => setTimeout(resolve, 30_000));
        })()),
      });
      expect(res.status).toBe(413);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(JSON.parse(res.body.toString()).error).toMatchObject({ code: 'payload_too_large', field: 'body' });
      expect(res.headers.connection).toBe('close');
      expect((await inject({ url: '/blobs/big/announced' })).statusCode).toBe(404);
    });

    it('stops a chunked body with a 413 once it passes the limit, and stores nothing', async () => {
      const chunk = Buffer.alloc(256 * 1024, 1);
      const res = await rawRequest(wy.baseUrl, { method: 'PUT', path: '/blobs/big/chunked', body: Readable.from(Array.from({ length: 16 }, () => chunk)) });
      expect(res.status).toBe(413);
      expect((await inject({ url: '/blobs/big/chunked' })).statusCode).toBe(404);
    });

    it('takes a body of exactly the limit', async () => {
      const res = await inject({ method: 'PUT', url: '/blobs/big/exact', payload: Buffer.alloc(MAX_BYTES, 2) });
      expect(res.statusCode).toBe(201);
      expect(res.json().size).toBe(MAX_BYTES);
    });
  });

  it('keeps nothing of a body whose client disconnects midway, and keeps serving', async () => {
    await rawRequest(wy.baseUrl, {
      method: 'PUT',
      path: '/blobs/cut/off',
      headers: { 'content-length': 100_000 },
      body: Readable.from((async function* () {
        yield Buffer.alloc(20_000);
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error('client gone');
      })()),
    }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (!('keepsCutBodies' in variant)) expect((await inject({ url: '/blobs/cut/off' })).statusCode).toBe(404);
    expect((await inject({ method: 'PUT', url: '/blobs/cut/after', payload: 'ok' })).statusCode).toBe(201);
  });

  it('appears in /readyz and /docs', async () => {
    const ready = (await inject({ url: '/readyz' })).json();
    expect(ready.drivers.blobs).toBe(variant.name.startsWith('disk') ? 'disk' : 's3');
    expect(ready.dependencies.map((d: { name: string }) => d.name)).toContain(variant.name.startsWith('disk') ? 'disk' : 's3');
    const spec = (await inject({ url: '/openapi.json' })).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/blobs', '/put/']));
  });
});

describe('DELETE /blobs/:key with an API key', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_API_KEY: 'secret-key' }));

  it('needs the key; reads and writes do not', async () => {
    expect((await wy.workyard.app.inject({ method: 'PUT', url: '/blobs/guarded', payload: 'x' })).statusCode).toBe(201);
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/blobs/guarded' })).statusCode).toBe(401);
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/blobs/guarded', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await wy.workyard.app.inject({ url: '/blobs/guarded' })).statusCode).toBe(200);
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/blobs/guarded', headers: { authorization: 'Bearer secret-key' } })).statusCode).toBe(204);
  });
});
