import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH } from '../../infra/counters/contract.js';
import { countOf, readStats, startStatsWorkyard } from '../../../test/support/stats.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

describe('stats routes', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());
  const get = (url: string) => wy.workyard.app.inject({ url });
  beforeEach(async () => {
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' })).statusCode).toBe(204);
  });

  it('answers any GET under /api/ with its path, query string left out', async () => {
    for (const [url, path] of [
      ['/api/one/', '/api/one/'],
      ['/api/product/1/', '/api/product/1/'],
      ['/api/product/1/?x=1&y', '/api/product/1/'],
      ['/api/a/b/c/d/e/f/g/h/i/j/k/l/', '/api/a/b/c/d/e/f/g/h/i/j/k/l/'],
      ['/api/no-trailing-slash', '/api/no-trailing-slash'],
      ['/api/', '/api/'],
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.json(), url).toEqual({ path });
    }
  });

  it('reports the spec example: counts, most requested first, ties by path, query strings ignored', async () => {
    for (const url of ['/api/one/', '/api/one/?x=1', '/api/one/?y=2&z', '/api/two/', '/api/product/1/', '/api/two/?page=3', '/api/product/1/']) {
      expect((await get(url)).statusCode).toBe(200);
    }
    // the /stats/ request counts itself, like every request
    expect(await readStats(wy, '')).toEqual({
      total_requests: 8,
      unique_paths: 4,
      paths: [
        { path: '/api/one/', count: 3 },
        { path: '/api/product/1/', count: 2 },
        { path: '/api/two/', count: 2 },
        { path: '/stats/', count: 1 },
      ],
    });
  });

  it('pages through the paths with limit and offset', async () => {
    // /api/p01/ asked once, /api/p02/ twice … /api/p12/ twelve times
    for (let i = 1; i <= 12; i++) {
      const path = `/api/p${String(i).padStart(2, '0')}/`;
      await Promise.all(Array.from({ length: i }, () => get(path)));
    }
    const page = await readStats(wy, 'limit=5&offset=5');
    expect(page.paths).toEqual([7, 6, 5, 4, 3].map((i) => ({ path: `/api/p0${i}/`, count: i })));
    expect(page.unique_paths).toBe(13);
    expect(page.total_requests).toBe(78 + 1);
    const last = await readStats(wy, 'limit=5&offset=10');
    // this is the second read of /stats/: it ties with /api/p02/ and sorts after it
    expect(last.paths).toEqual([
      { path: '/api/p02/', count: 2 },
      { path: '/stats/', count: 2 },
      { path: '/api/p01/', count: 1 },
    ]);
    expect((await readStats(wy, 'offset=100')).paths).toEqual([]);
    // limit defaults to 100
    expect((await readStats(wy, '')).paths).toHaveLength(13);
  });

  it('refuses bad paging values with 400 naming the field, and keeps the counts', async () => {
    await get('/api/kept/');
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=10001', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['offset=-1', 'offset'],
      ['offset=x', 'offset'],
      ['sort=asc', 'sort'],
    ]) {
      const res = await get(`/stats/?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error, query).toMatchObject({ code: 'validation_failed', field });
    }
    const stats = await readStats(wy);
    expect(countOf(stats, '/api/kept/')).toBe(1);
    expect(countOf(stats, '/stats/')).toBe(8);
  });

  it('answers other methods on /api/* with 405 and Allow, before reading any body, and counts them', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
      const res = await wy.workyard.app.inject({ method, url: '/api/one/?q=1', headers: { 'content-type': 'application/json' }, payload: '{not json' });
      expect(res.statusCode, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.json().error).toMatchObject({ code: 'method_not_allowed' });
      expect(res.json().error.message).toContain('/api/one/');
    }
    expect((await wy.workyard.app.inject({ method: 'HEAD', url: '/api/one/' })).statusCode).toBe(200);
    expect(countOf(await readStats(wy), '/api/one/')).toBe(6);
  });

  it('counts every request the app handles: other routes, 404s, docs', async () => {
    expect((await get('/healthz')).statusCode).toBe(200);
    expect((await get('/no/such/route?x=1')).statusCode).toBe(404);
    expect((await get('/tasks/nope')).statusCode).toBe(404);
    expect((await get('/docs/')).statusCode).toBe(200);
    expect((await get('/openapi.json')).statusCode).toBe(200);
    const stats = await readStats(wy);
    for (const path of ['/healthz', '/no/such/route', '/tasks/nope', '/docs/', '/openapi.json']) expect(countOf(stats, path), path).toBe(1);
  });

  it('counts paths as received: percent-encoding is not decoded', async () => {
    expect((await get('/api/%41/')).json()).toEqual({ path: '/api/%41/' });
    await get('/api/A/');
    await get('/api/caf%C3%A9/');
    const stats = await readStats(wy);
    expect(countOf(stats, '/api/%41/')).toBe(1);
    expect(countOf(stats, '/api/A/')).toBe(1);
    expect(countOf(stats, '/api/caf%C3%A9/')).toBe(1);
  });

  it('answers a very long path whole but counts it under a bounded key', async () => {
    const long = '/api/' + 'a'.repeat(3_000) + '/';
    expect((await get(long)).json()).toEqual({ path: long });
    const stats = await readStats(wy);
    const entry = stats.paths.find((p) => p.path.startsWith('/api/aaa'))!;
    expect(entry.count).toBe(1);
    expect(entry.path.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
  });

  it('refuses bad traffic runs with 400 naming the field', async () => {
    for (const [url, field] of [
      ['/test/0/', 'n'],
      ['/test/1000001/', 'n'],
      ['/test/abc/', 'n'],
      ['/test/-5/', 'n'],
      ['/test/10/?wait=maybe', 'wait'],
      ['/test/10/?n=3', 'n'],
    ]) {
      const res = await wy.workyard.app.inject({ method: 'POST', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error, url).toMatchObject({ code: 'validation_failed', field });
    }
  });

  it('lists its routes in the OpenAPI document', async () => {
    const spec = (await get('/openapi.json')).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/{*}', '/stats/', '/test/{n}/']));
  });
});

describe('stats reset with an API key', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard({ WORKYARD_API_KEY: 'secret-key' }));

  it('needs the key to reset, and keeps the counts when refused', async () => {
    await wy.workyard.app.inject({ url: '/api/guarded/' });
    const refused = await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error).toMatchObject({ code: 'unauthorized', field: 'authorization' });
    expect(countOf(await readStats(wy), '/api/guarded/')).toBe(1);
    const done = await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/', headers: { authorization: 'Bearer secret-key' } });
    expect(done.statusCode).toBe(204);
    expect((await readStats(wy)).paths).toEqual([{ path: '/stats/', count: 1 }]);
  });
});
