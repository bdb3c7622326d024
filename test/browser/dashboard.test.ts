// The dashboard in a real browser (Debian's Chromium through playwright-core): it loads without a
// console error, shows a task go from queued to done without a reload, draws one bar per
// requested path and shows a harvest's thumbnails. Leaves a screenshot in test-results/dashboard.png.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOW_JOB, slowJobModule } from '../support/dashboard.js';
import { modules } from '../../src/modules/index.js';
import { type FixtureSite, bytes, html, startFixtureSite } from '../support/harvest-fixture-site.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';
import { launchChromium } from '../support/chromium.js';

const KEY = 'browser-test-key';
const SCREENSHOT = path.resolve('test-results/dashboard.png');
const REQUESTED = { '/api/orders': 9, '/api/orders/42': 6, '/api/customers': 4, '/api/search': 2, '/api/health-check': 1 };
const harvestInstalled = modules.some((m) => m.name === 'harvest');

/** A small picture that renders, so the thumbnails in the screenshot are real. */
function tile(hue: number, shape: 'circle' | 'square' | 'triangle'): Buffer {
  const figure = {
    circle: '<circle cx="32" cy="32" r="16" fill="#fff" fill-opacity=".85"/>',
    square: '<rect x="18" y="18" width="28" height="28" rx="4" fill="#fff" fill-opacity=".85"/>',
    triangle: '<path d="M32 14 L50 48 L14 48 Z" fill="#fff" fill-opacity=".85"/>',
  }[shape];
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
      `<stop offset="0" stop-color="hsl(${hue},80%,62%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},75%,45%)"/></linearGradient></defs>` +
      `<rect width="64" height="64" fill="url(#g)"/>${figure}</svg>`,
  );
}
const TILES = [tile(230, 'circle'), tile(160, 'square'), tile(20, 'triangle'), tile(290, 'square'), tile(50, 'circle')];

describe('the dashboard in Chromium', () => {
  let wy: TestWorkyard;
  let browser: Browser;
  let page: Page;
  let site: FixtureSite;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    site = await startFixtureSite({
      '/gallery.html': html(`<!doctype html><title>Gallery</title>${TILES.map((_, i) => `<img src="/tile-${i}.svg">`).join('')}`),
      ...Object.fromEntries(TILES.map((svg, i) => [`/tile-${i}.svg`, bytes(svg, 'image/svg+xml')])),
    });
    // The fixture site is on loopback, which harvest refuses unless told otherwise.
    wy = await startTestWorkyard({ WORKYARD_API_KEY: KEY, WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' }, { modules: [...modules, slowJobModule] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
  });
  afterAll(async () => {
    await browser?.close();
    await wy?.close();
    await site?.close();
  });

  it('asks a browser without the key for it, and opens with it', async () => {
    const response = await page.goto(`${wy.baseUrl}/dashboard`);
    expect(response?.status()).toBe(401);
    await page.fill('input[name="key"]', KEY);
    await Promise.all([page.waitForURL(/\/dashboard/), page.click('button[type="submit"]')]);
    await page.waitForSelector('[data-live="live"]');
    // The key set a cookie and left the address bar.
    expect(new URL(page.url()).searchParams.has('key')).toBe(false);
  });

  it('loads without console errors, shows a task go from queued to done live, and one bar per path', async () => {
    // The 401 of the key form is the browser's to report; from here on nothing may be.
    consoleErrors.length = 0;
    const statsInstalled = modules.some((m) => m.name === 'stats');
    for (const [requestPath, times] of Object.entries(REQUESTED)) {
      for (let i = 0; i < times; i++) {
        // With the stats module every request is counted by path; without it, the counters are fed directly.
        if (statsInstalled) await (await fetch(`${wy.baseUrl}${requestPath}`)).body?.cancel();
        else wy.workyard.ctx.counters.increment(requestPath);
      }
    }
    await wy.workyard.ctx.counters.flush();
    const finished = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 50 });
    const failed = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 50, fail: true });
    await wy.workyard.ctx.queue.waitForFinish(finished.id, 10_000);
    await wy.workyard.ctx.queue.waitForFinish(failed.id, 10_000);

    await page.goto(`${wy.baseUrl}/dashboard?key=${KEY}`);
    await page.waitForSelector('[data-live="live"]');
    // Marks this document: a reload would lose the mark.
    await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));

    const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 1_500 }, { delayMs: 2_500 });
    const row = page.locator(`tr[data-task-id="${job.id}"]`);
    // enqueued with a delay: delayed until its time, then running, then done
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 5_000 }).toBe('delayed');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 5_000 }).toBe('active');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 5_000 }).toBe('completed');
    expect(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await expect.poll(() => page.locator(`tr[data-job="${SLOW_JOB}"] td[data-state="completed"]`).textContent()).toBe('2');

    const bars = page.locator('svg.bar-chart g.bar');
    for (const requestPath of Object.keys(REQUESTED)) {
      await expect.poll(() => page.locator(`svg.bar-chart g.bar[data-path="${requestPath}"]`).count()).toBe(1);
    }
    const { unique } = await wy.workyard.ctx.counters.top({ limit: 1, offset: 0 });
    await expect.poll(() => bars.count()).toBe(Math.min(20, unique));
    const top = await bars.first().getAttribute('data-count');
    expect(Number(top)).toBeGreaterThanOrEqual(REQUESTED['/api/orders']);

    if (harvestInstalled) {
      // Through the harvest module's own API, as any client would.
      const created = await fetch(`${wy.baseUrl}/images_tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${site.url}/gallery.html` }) });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      const thumbnails = page.locator(`[data-harvest-id="${id}"] .thumbs img`);
      await expect.poll(() => thumbnails.count(), { timeout: 15_000 }).toBe(TILES.length);
      // Every thumbnail really loaded: the browser decoded it.
      await expect.poll(() => thumbnails.evaluateAll((images) => images.filter((image) => (image as unknown as { naturalWidth: number }).naturalWidth > 0).length)).toBe(TILES.length);
    } else {
      await expect.poll(() => page.locator('[data-panel="harvest"]').textContent()).toContain('not part of this installation');
    }

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(consoleErrors).toEqual([]);
  });

  it('follows the range selector: the request panel of the last 7 days, kept while the stream goes on, then all time again', async () => {
    const shown = () => page.locator('[data-panel="stats"] [data-stats-range]').getAttribute('data-stats-range');
    expect(await shown()).toBe('all');
    await page.selectOption('[data-stats-range-select]', '7d');
    await expect.poll(shown).toBe('7d');
    expect(await page.locator('[data-panel="stats"]').textContent()).toContain('Requests per hour, last 7 days');
    await expect.poll(() => page.locator('[data-panel="stats"] svg.time-chart g.column').count()).toBeGreaterThanOrEqual(168);
    // more requests while the live stream keeps redrawing the other panels: the range stays
    for (let i = 0; i < 3; i++) await fetch(`${wy.baseUrl}/api/range-test`);
    await page.waitForTimeout(2_500);
    expect(await shown()).toBe('7d');
    await page.selectOption('[data-stats-range-select]', 'all');
    await expect.poll(shown).toBe('all');
    expect(consoleErrors).toEqual([]);
  });
});
