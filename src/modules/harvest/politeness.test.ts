// Harvest paces itself per host: requests to one host start at least the configured delay apart
// (longer when robots.txt asks with Crawl-delay), and a 429 or 503 is asked again after its
// Retry-After rather than failing the image. Fixture sites on 127.0.0.1, times read by the sites.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InjectOptions } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { solidPng } from '../../../test/support/png.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { parseRobots } from './robots.js';
import { retryAfterMs } from './retry-after.js';
import { createHarvestModule } from './index.js';

const image = solidPng(8, 8);
const gaps = (times: number[]) => times.slice(1).map((time, i) => time - times[i]);

/** A site of `count` images whose request times are recorded; robots.txt as given. */
async function pacedSite(count: number, robots: string) {
  const times: number[] = [];
  const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
    '/robots.txt': (_request, response) => void response.writeHead(200, { 'content-type': 'text/plain' }).end(robots),
    '/page.html': html(Array.from({ length: count }, (_, i) => `<img src="/i${i}.png">`).join('')),
  };
  for (let i = 0; i < count; i++) {
    routes[`/i${i}.png`] = (_request, response) => {
      times.push(Date.now());
      response.writeHead(200, { 'content-type': 'image/png' }).end(image);
    };
  }
  return { site: await startFixtureSite(routes), times };
}

describe('politeness (unit)', () => {
  it('reads Crawl-delay from the group that applies, capped at 30 s', () => {
    expect(parseRobots('User-agent: *\nCrawl-delay: 2\nDisallow: /x').crawlDelayMs).toBe(2000);
    expect(parseRobots('User-agent: workyard\nCrawl-delay: 0.5\n\nUser-agent: *\nCrawl-delay: 9').crawlDelayMs).toBe(500);
    expect(parseRobots('User-agent: *\nCrawl-delay: 3600').crawlDelayMs).toBe(30_000);
    expect(parseRobots('User-agent: *\nCrawl-delay: soon').crawlDelayMs).toBe(0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(Date.now() + 5_000).toUTCString())).toBeGreaterThan(3_000);
    expect(retryAfterMs(undefined)).toBe(1000);
    expect(retryAfterMs('later')).toBeNull();
  });
});

describe('politeness: per-host delay, Crawl-delay and Retry-After (fixture sites on 127.0.0.1)', () => {
  const wy = suiteWorkyard(() =>
    startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true', WORKYARD_HARVEST_HOST_DELAY_MS: '150', WORKYARD_HARVEST_REQUESTS_PER_HOST: '4' }, { modules: [createHarvestModule()] }),
  );
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);
  const harvest = async (url: string) => {
    const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url } });
    await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 30_000);
    return (await inject({ url: `/images_tasks/${posted.json().id}` })).json();
  };
  const sites: FixtureSite[] = [];
  afterAll(() => Promise.all(sites.map((site) => site.close())));

  it('starts requests to one host at least WORKYARD_HARVEST_HOST_DELAY_MS apart, even with 4 allowed at once', async () => {
    const { site, times } = await pacedSite(6, 'User-agent: *\nAllow: /\n');
    sites.push(site);
    expect(await harvest(`${site.url}/page.html`)).toMatchObject({ status: 'done', images_count: 6 });
    expect(times).toHaveLength(6);
    for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(140);
  });

  it('waits longer when robots.txt asks with Crawl-delay', async () => {
    const { site, times } = await pacedSite(3, 'User-agent: *\nCrawl-delay: 0.6\n');
    sites.push(site);
    expect(await harvest(`${site.url}/page.html`)).toMatchObject({ status: 'done', images_count: 3 });
    for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(590);
  });

  it('stops fetching once a task\'s budget of bytes or time is spent, and says so of the rest', async () => {
    const { site } = await pacedSite(6, 'User-agent: *\nAllow: /\n');
    sites.push(site);
    const outcome = async (budget: Record<string, number>) => {
      const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/page.html`, ...budget } });
      await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 30_000);
      const task = (await inject({ url: `/images_tasks/${posted.json().id}` })).json();
      const errors = (await inject({ url: `/images_tasks/${task.id}/images` })).json().map((row: { error: string | null }) => row.error);
      return { task, errors };
    };
    // requests start 150 ms apart, so the second download has ended before a third may start (a loaded machine may let one more in)
    const bytes = await outcome({ budget_bytes: image.length * 2 });
    expect(bytes.task.status).toBe('done');
    expect(bytes.task.images_count).toBeGreaterThanOrEqual(2);
    expect(bytes.task.images_count).toBeLessThanOrEqual(3);
    expect(bytes.errors.filter((error: string | null) => error !== null)).toEqual(Array(6 - bytes.task.images_count).fill(`not fetched: the task's budget of ${image.length * 2} bytes was spent`));
    // the images are still there for the next task without a budget: fetched then, not refused
    expect((await outcome({})).task).toMatchObject({ images_count: 6, images_failed: 0 });
    const { site: slow } = await pacedSite(6, 'User-agent: *\nAllow: /\n');
    sites.push(slow);
    const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${slow.url}/page.html`, budget_ms: 350 } });
    await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 30_000);
    const timed = (await inject({ url: `/images_tasks/${posted.json().id}` })).json();
    expect(timed.status).toBe('done');
    expect(timed.images_count).toBeGreaterThanOrEqual(1);
    expect(timed.images_count).toBeLessThanOrEqual(4);
    const timedErrors = (await inject({ url: `/images_tasks/${timed.id}/images` })).json().map((row: { error: string | null }) => row.error).filter(Boolean);
    expect(timedErrors).toEqual(Array(6 - timed.images_count).fill("not fetched: the task's time budget of 350 ms ran out"));
  });

  it('asks again after Retry-After on 429 and 503, and gives up on a server that keeps refusing', async () => {
    const calls = new Map<string, number[]>();
    const refusing = (status: number, times: number, retryAfter?: string) => (request: IncomingMessage, response: ServerResponse) => {
      const seen = calls.get(request.url!) ?? [];
      seen.push(Date.now());
      calls.set(request.url!, seen);
      if (seen.length <= times) return void response.writeHead(status, retryAfter === undefined ? {} : { 'retry-after': retryAfter }).end();
      response.writeHead(200, { 'content-type': 'image/png' }).end(image);
    };
    const site = await startFixtureSite({
      '/robots.txt': (_request, response) => void response.writeHead(404).end(),
      '/page.html': html('<img src="/busy.png"><img src="/down.png"><img src="/never.png"><img src="/far.png">'),
      '/busy.png': refusing(429, 1, '1'),
      '/down.png': refusing(503, 2),
      '/never.png': refusing(503, 99, '0'),
      '/far.png': refusing(429, 1, '3600'),
    });
    sites.push(site);
    const task = await harvest(`${site.url}/page.html`);
    expect(task).toMatchObject({ status: 'done', images_count: 2, images_failed: 2 });
    expect(gaps(calls.get('/busy.png')!)[0]).toBeGreaterThanOrEqual(950);
    expect(calls.get('/down.png')).toHaveLength(3);
    // three requests in all, then the 503 stands
    expect(calls.get('/never.png')).toHaveLength(3);
    // an hour is past the cap: not waited for
    expect(calls.get('/far.png')).toHaveLength(1);
    const errors = (await inject({ url: `/images_tasks/${task.id}/images` })).json().map((row: { error: string | null }) => row.error);
    expect(errors).toEqual([null, null, `HTTP 503 from ${site.url}/never.png`, `HTTP 429 from ${site.url}/far.png`]);
  });
});

