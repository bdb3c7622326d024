import { beforeEach, describe, expect, it } from 'vitest';
import { startStatsWorkyard } from '../../../test/support/stats.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { PRUNE_JOB } from './jobs.js';

describe('stats reports over time', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());
  const inject = (url: string, from = '203.0.113.1', agent = 'Mozilla/5.0 Firefox/140.0') => wy.workyard.app.inject({ url, remoteAddress: from, headers: { 'user-agent': agent } });
  beforeEach(async () => {
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' })).statusCode).toBe(204);
  });

  it('ranks paths over a range with unique visitors beside each count', async () => {
    for (const [address, agent] of [['203.0.113.1', 'A'], ['203.0.113.1', 'A'], ['203.0.113.2', 'A'], ['203.0.113.1', 'B']]) {
      expect((await inject('/api/seen/', address, agent)).statusCode).toBe(200);
    }
    await inject('/api/other/?q=1');
    const res = await inject('/stats/?from=-1h&limit=2');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    // three visitors on /api/seen/, and a fourth (address 1, Firefox) on /api/other/ and this read
    expect(body).toMatchObject({ total_requests: 6, unique_paths: 3, unique_visitors: 4 });
    expect(body.paths).toEqual([
      { path: '/api/seen/', count: 4, unique_visitors: 3 },
      { path: '/api/other/', count: 1, unique_visitors: 1 },
    ]);
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(3_600_000);
    // a range that ended before these requests has none of them
    expect((await inject('/stats/?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00%2B01:00')).json()).toMatchObject({ total_requests: 0, unique_paths: 0, paths: [] });
  });

  it('gives a zero-filled series of one path or of all, per minute, hour or day', async () => {
    await inject('/api/series/');
    await inject('/api/series/');
    await inject('/api/elsewhere/');
    const hours = (await inject('/stats/timeseries?path=/api/series/&from=-3h&interval=hour')).json();
    expect(hours.points).toHaveLength(4);
    expect(hours.points.slice(0, 3).map((p: { count: number }) => p.count)).toEqual([0, 0, 0]);
    expect(hours.points[3]).toEqual({ t: expect.stringMatching(/:00:00\.000Z$/), count: 2, unique_visitors: 1 });
    const all = (await inject('/stats/timeseries?from=-10m&interval=minute')).json();
    expect(all.path).toBeNull();
    expect(all.points).toHaveLength(11);
    expect(all.points.reduce((sum: number, p: { count: number }) => sum + p.count, 0)).toBe(4 + 1); // this stats read too: 5 requests before it
    const days = (await inject('/stats/timeseries?path=/api/series/&interval=day&from=-2d')).json();
    expect(days.points.map((p: { count: number }) => p.count)).toEqual([0, 0, 2]);
  });

  it.each([
    ['/stats/?from=yesterday', 'from'],
    ['/stats/?to=-1h', 'from'],
    ['/stats/?from=-1h&to=-2h', 'from'],
    ['/stats/?from=-1h&to=2026-13-01T00:00:00Z', 'to'],
    ['/stats/timeseries?interval=week', 'interval'],
    ['/stats/timeseries?interval=minute&from=-30d', 'interval'],
    ['/stats/timeseries?from=-1x', 'from'],
  ])('%s answers 400 naming %s', async (url, field) => {
    const res = await inject(url);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
  });

  it('declares the pruning schedule in the queue, and its job prunes', async () => {
    const queue = wy.workyard.ctx.queue;
    await expect.poll(async () => (await queue.listSchedules()).map((s) => s.id)).toContain(PRUNE_JOB);
    const job = await queue.enqueue(PRUNE_JOB, {});
    const finished = await queue.waitForFinish(job.id, 10_000);
    expect(finished).toMatchObject({ state: 'completed', result: { deleted: expect.any(Number) } });
  });
});

describe('stats views: grouped by route, under a prefix, without probes', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard({ WORKYARD_STATS_PATTERNS: '/api/user/:name/' }));
  const get = (url: string) => wy.workyard.app.inject({ url });

  it('folds ids into :id and declared patterns, keeps raw counts, and filters by prefix and probes', async () => {
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' })).statusCode).toBe(204);
    // three visitors (one address, three browsers): a visitor of two products counts once for the pattern
    const as = (visitor: string, url: string) => wy.workyard.app.inject({ url, headers: { 'user-agent': `Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0 visitor-${visitor}` } });
    for (const [visitor, url] of [['a', '/api/product/17/'], ['b', '/api/product/17/'], ['b', '/api/product/18/'], ['c', '/api/product/18/'], ['a', '/api/product/3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b/'], ['a', '/api/user/ada/'], ['a', '/api/user/alan/'], ['a', '/healthz'], ['a', '/healthz']]) await as(visitor, url);
    const grouped = (await get('/stats/?group=route&prefix=/api/')).json();
    expect(grouped).toMatchObject({ total_requests: 7, unique_paths: 2 });
    expect(grouped.paths).toEqual([
      { path: '/api/product/:id/', count: 5, unique_visitors: 3 },
      { path: '/api/user/:name/', count: 2, unique_visitors: 1 },
    ]);
    const groupedToday = (await get('/stats/?group=route&prefix=/api/product/&from=-1h')).json();
    expect(groupedToday.paths).toEqual([{ path: '/api/product/:id/', count: 5, unique_visitors: 3 }]);
    const noProbes = (await get('/stats/?exclude=probes&from=-1h')).json();
    expect(noProbes.paths.map((p: { path: string }) => p.path)).not.toContain('/healthz');
    expect(noProbes.total_requests).toBe(7 + 3); // the three /stats/ reads, no probe
    // raw counts are kept: the seed's answer still has every path
    const raw = (await get('/stats/?limit=100')).json();
    expect(raw.paths).toContainEqual({ path: '/healthz', count: 2 });
    expect(raw.paths).toContainEqual({ path: '/api/product/17/', count: 2 });
    expect(raw.unique_visitors).toBeUndefined();
  });

  it.each([
    ['/stats/?group=path', 'group'],
    ['/stats/?exclude=humans', 'exclude'],
    ['/stats/?prefix=api', 'prefix'],
  ])('%s answers 400 naming %s', async (url, field) => {
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
  });
});

describe('stats export', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());

  it('streams bucket rows as CSV, paths quoted and formula-safe', async () => {
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' })).statusCode).toBe(204);
    for (const url of ['/api/a,b/', '/api/a,b/', '/api/plain/']) await wy.workyard.app.inject({ url });
    const res = await fetch(`${wy.baseUrl}/stats/export.csv?from=-1h&interval=minute`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...lines] = (await res.text()).trim().split('\r\n');
    expect(header).toBe('bucket_start,path,count');
    const rows = lines.map((l) => l.replace(/^[^,]+,/, '')).sort();
    // the export's own request is counted before it reads, like every request
    expect(rows).toEqual(['"/api/a,b/",2', '/api/plain/,1', '/stats/export.csv,1']);
    expect((await fetch(`${wy.baseUrl}/stats/export.csv?interval=week`)).status).toBe(400);
  });
});

describe('stats without bots', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());
  const as = (url: string, agent: string) => wy.workyard.app.inject({ url, headers: { 'user-agent': agent } });

  it('leaves bots out of a ranged view, while the raw counts keep them', async () => {
    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' })).statusCode).toBe(204);
    const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
    for (let i = 0; i < 3; i++) await as('/api/crawled/', googlebot);
    await as('/api/crawled/', firefox);
    await as('/robots.txt', googlebot);
    const human = (await as('/stats/?from=-1h&exclude=bots', firefox)).json();
    expect(human.paths).toEqual([
      { path: '/api/crawled/', count: 1, unique_visitors: 2 },
      { path: '/stats/', count: 1, unique_visitors: 1 },
    ]);
    expect(human.total_requests).toBe(2);
    const raw = (await as('/stats/?from=-1h', firefox)).json();
    expect(raw.total_requests).toBe(7);
    expect((await as('/stats/?exclude=bots', firefox)).json().error).toMatchObject({ field: 'from' });
  });
});
