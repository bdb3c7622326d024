import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';
import type { WorkyardModule } from '../app-context.js';
import { loadConfig } from '../config.js';
import { routeGroup } from './rate-limit.js';

// Two route groups of a test module, so that limits are tested apart from the real modules' rules.
const groupsModule: WorkyardModule = {
  name: 'groups',
  create: () => ({
    routes(app) {
      app.get('/alpha/one', { schema: { tags: ['alpha'] } }, async () => ({ ok: 1 }));
      app.get('/alpha/two', { schema: { tags: ['alpha'] } }, async () => ({ ok: 2 }));
      app.get('/beta', { schema: { tags: ['beta'] } }, async () => ({ ok: 3 }));
      app.post('/alpha/echo', { schema: { tags: ['alpha'], body: Type.Object({ text: Type.String() }, { additionalProperties: false }) } }, async (request) => request.body);
      app.get('/page', async (_request, reply) => reply.type('text/html').send('<p style="color:red">page</p>'));
    },
  }),
};

describe('security headers and rate limits', () => {
  let wy: TestWorkyard | undefined;
  afterEach(async () => {
    await wy?.close();
    wy = undefined;
  });
  const start = async (env: Record<string, string> = {}) => {
    wy = await startTestWorkyard(env, { modules: [groupsModule] });
    return wy.workyard.app;
  };

  it('sends pages the full set of security headers, with a CSP that allows inline styles but no foreign scripts', async () => {
    const app = await start();
    for (const url of ['/page', '/docs/']) {
      const res = await app.inject({ url });
      expect(res.headers['content-type'], url).toMatch(/^text\/html/);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security'], url).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
      expect(res.headers['cross-origin-resource-policy'], url).toBe('same-origin');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self' 'unsafe-inline'");
      expect(csp).toContain("frame-ancestors 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
  });

  it('sends JSON answers (and JSON errors) the OWASP REST set, not the page headers', async () => {
    const app = await start();
    for (const url of ['/alpha/one', '/healthz', '/no/such/route', '/openapi.json']) {
      const res = await app.inject({ url });
      expect(res.headers['content-type'], url).toMatch(/^application\/json/);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['strict-transport-security'], url).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy'], url).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers['cache-control'], url).toBe('no-store');
      for (const pageOnly of ['x-frame-options', 'referrer-policy', 'cross-origin-opener-policy', 'x-dns-prefetch-control', 'x-xss-protection', 'origin-agent-cluster']) {
        expect(res.headers[pageOnly], `${url} ${pageOnly}`).toBeUndefined();
      }
    }
  });

  it('does not limit anything by default', async () => {
    const app = await start();
    const codes = new Set<number>();
    for (let i = 0; i < 300; i++) codes.add((await app.inject({ url: '/alpha/one' })).statusCode);
    expect([...codes]).toEqual([200]);
  });

  it('answers 429 with Retry-After and the standard error shape past the limit of a group', async () => {
    const app = await start({ WORKYARD_RATE_LIMIT_MAX: '3', WORKYARD_RATE_LIMIT_WINDOW_MS: '60000' });
    const codes: number[] = [];
    for (const url of ['/alpha/one', '/alpha/two', '/alpha/one']) codes.push((await app.inject({ url })).statusCode);
    expect(codes).toEqual([200, 200, 200]);
    const limited = await app.inject({ url: '/alpha/two' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['x-content-type-options']).toBe('nosniff');
    expect(limited.json()).toEqual({
      error: { code: 'rate_limited', message: expect.stringMatching(/at most 3 per 60 s/), retry_after_s: expect.any(Number) },
    });
    // A limited POST is refused before its body is read or validated.
    const post = await app.inject({ method: 'POST', url: '/alpha/echo', payload: '{not json', headers: { 'content-type': 'application/json' } });
    expect(post.statusCode).toBe(429);
    // Other groups, other clients and operations routes have counters of their own, or none.
    expect((await app.inject({ url: '/beta' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/alpha/one', remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200);
  });

  it('lets a group override the default, and 0 lift the limit of one group', async () => {
    const app = await start({ WORKYARD_RATE_LIMIT_GROUPS: 'alpha=2,beta=0', WORKYARD_RATE_LIMIT_WINDOW_MS: '300' });
    expect((await app.inject({ url: '/alpha/one' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/alpha/two' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/alpha/one' })).statusCode).toBe(429);
    for (let i = 0; i < 50; i++) expect((await app.inject({ url: '/beta' })).statusCode).toBe(200);
    await sleep(350);
    expect((await app.inject({ url: '/alpha/one' })).statusCode).toBe(200);
  });

  it('refuses a body past the global 1 MB limit with 413 naming the body', async () => {
    const app = await start();
    const payload = JSON.stringify({ text: 'x'.repeat(1024 * 1024) });
    const res = await app.inject({ method: 'POST', url: '/alpha/echo', payload, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'payload_too_large', message: expect.any(String), field: 'body' } });
    const small = await app.inject({ method: 'POST', url: '/alpha/echo', payload: { text: 'ok' } });
    expect(small.json()).toEqual({ text: 'ok' });
  });
});

describe('route groups and their configuration', () => {
  it('groups a route by its tag, pages by their path, and never limits operations routes', () => {
    expect(routeGroup('/sync/sum', ['compute'])).toBe('compute');
    expect(routeGroup('/dashboard', undefined)).toBe('admin');
    expect(routeGroup('/admin/queues/*', undefined)).toBe('admin');
    expect(routeGroup('/feedback/:form', undefined)).toBe('feedback');
    expect(routeGroup('/:anything', undefined)).toBe('default');
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/static/*']) expect(routeGroup(url, undefined)).toBeNull();
    expect(routeGroup('/x', ['operations'])).toBeNull();
  });

  it('reads per-group limits and refuses a malformed list naming the variable', () => {
    expect(loadConfig({ WORKYARD_RATE_LIMIT_GROUPS: 'harvest=10, blobs=200' }).rateLimit).toEqual({ max: 0, windowMs: 60_000, groups: { harvest: 10, blobs: 200 } });
    expect(() => loadConfig({ WORKYARD_RATE_LIMIT_GROUPS: 'harvest:10' })).toThrow(/WORKYARD_RATE_LIMIT_GROUPS/);
    expect(() => loadConfig({ WORKYARD_RATE_LIMIT_GROUPS: 'harvest=-1' })).toThrow(/WORKYARD_RATE_LIMIT_GROUPS/);
    expect(() => loadConfig({ WORKYARD_RATE_LIMIT_MAX: 'lots' })).toThrow(/WORKYARD_RATE_LIMIT_MAX/);
  });
});
