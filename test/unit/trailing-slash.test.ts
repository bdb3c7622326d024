// Every route of /openapi.json asked in its other form (trailing slash added or removed) answers
// 308 to the form it is registered with, query string kept, for every method: the seeds' clients
// call /stats/, /test/10/, /put/ and /api/… and may drop the slash, as people do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsOf } from '../fuzz/hostile-requests.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const fill = (path: string) => path.replace('{*}', 'slash-test').replace('{n}', '1').replace(/\{[^}]+\}/g, 'slash-test');
const otherForm = (path: string) => (path.endsWith('/') ? path.slice(0, -1) : `${path}/`);

describe('trailing slashes: the other form of every route is a 308 to its own', () => {
  let wy: TestWorkyard;
  let routes: { method: string; path: string }[];
  beforeAll(async () => {
    wy = await startTestWorkyard();
    routes = operationsOf(await (await fetch(`${wy.baseUrl}/openapi.json`)).json());
  });
  afterAll(() => wy?.close());

  const ask = (method: string, url: string, body?: string) =>
    fetch(wy.baseUrl + url, { method, redirect: 'manual', headers: body ? { 'content-type': 'application/json' } : {}, body, signal: AbortSignal.timeout(10_000) });

  it('answers 308 with the canonical URL and the query string, on every route and method', async () => {
    const answers: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const { method, path } of routes) {
      // '/' has no other form; behind a wildcard the other form is another key (/blobs/a/ is the key
      // "a/", refused by the key rules; /api/a/ a path of its own to count)
      if (path === '/' || path.endsWith('{*}')) continue;
      // ...and /blobs/ is the empty key of /blobs/{*}, not the listing with a slash (checked below)
      if (method === 'GET' && path === '/blobs') continue;
      const canonical = fill(path);
      const res = await ask(method, `${otherForm(canonical)}?from=test&x=%2F`, ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined);
      await res.body?.cancel();
      answers[`${method} ${path}`] = `${res.status} ${res.headers.get('location')}`;
      expected[`${method} ${path}`] = `308 ${canonical}?from=test&x=%2F`;
    }
    expect(answers).toEqual(expected);
    expect(Object.keys(answers).length).toBeGreaterThan(20);
  });

  it('covers the seeds URLs: /stats, /test/10, /put and /api, GET, HEAD and POST alike', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/stats', '/stats/'],
      ['HEAD', '/stats?x=1', '/stats/?x=1'],
      ['POST', '/test/10', '/test/10/'],
      ['POST', '/put', '/put/'],
      ['GET', '/api', '/api/'],
      // the slash form would reach a route with an empty parameter (a task id ""), which none takes
      ['GET', '/images_tasks/?limit=5', '/images_tasks?limit=5'],
      ['GET', '/async/get_task_result/?session_id=x', '/async/get_task_result?session_id=x'],
    ];
    for (const [method, from, to] of cases) {
      const res = await ask(method, from, method === 'POST' ? '{}' : undefined);
      await res.body?.cancel();
      expect(`${method} ${from} → ${res.status} ${res.headers.get('location')}`).toBe(`${method} ${from} → 308 ${to}`);
    }
  });

  it('a client that follows it gets the answer, a POST with its method and body', async () => {
    const stats = await fetch(`${wy.baseUrl}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.url).toBe(`${wy.baseUrl}/stats/`);
    const put = await fetch(`${wy.baseUrl}/put`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'slash/put', extension: 'txt', data: Buffer.from('followed').toString('base64') }) });
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ msg: 'stored', key: 'slash/put' });
    expect((await fetch(`${wy.baseUrl}/get/slash/put`)).status).toBe(200);
  });

  it('still answers 404 where neither form is a route, and never redirects off the site', async () => {
    for (const url of ['/no-such-route', '/no-such-route/', '//stats', '//example.com/']) {
      const res = await ask('GET', url);
      await res.body?.cancel();
      expect(res.status, url).toBe(404);
    }
    // a method the other form does not take is a 404, not a redirect to a 404
    expect((await ask('POST', '/stats', '{}')).status).toBe(404);
    // an empty wildcard is its route's to judge: /api/ is a path of its own, /blobs/ the empty key
    expect((await ask('GET', '/api/')).status).toBe(200);
    expect((await ask('GET', '/blobs/')).status).toBe(400);
  });
});
