// The Content-Security-Policy and the other security headers let Workyard's own pages work in a
// real browser (Debian's Chromium through playwright-core): Swagger UI at /docs renders every
// route and runs "Try it out", and the queue admin (bull-board) renders, with no CSP violation or
// other console error. The server-rendered pages are checked the same way by their own browser
// tests (feedback.test.ts, dashboard.test.ts). And the other way round: a stored object that is
// an HTML page runs no script, neither its own nor another stored object (which the pages' policy,
// scripts from 'self', would allow).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needService, redisUrl, uniqueRedisPrefix } from '../support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';
import { launchChromium } from '../support/chromium.js';

const KEY = 'security-browser-key';
const redisOk = await needService('redis');

async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  return page;
}

describe('security headers in Chromium', () => {
  let browser: Browser;
  let embedded: TestWorkyard;
  let scaled: TestWorkyard | undefined;

  beforeAll(async () => {
    embedded = await startTestWorkyard();
    if (redisOk) scaled = await startTestWorkyard({ WORKYARD_API_KEY: KEY, WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('csp') });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await embedded?.close();
    await scaled?.close();
  });

  it('/docs (Swagger UI) renders every route and runs "Try it out" under the CSP', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, errors);
    const response = await page.goto(`${embedded.baseUrl}/docs`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.opblock').first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(10);

    const healthz = page.locator('.opblock-get', { has: page.locator('[data-path="/healthz"]') }).first();
    await healthz.locator('.opblock-summary').click();
    await healthz.getByRole('button', { name: 'Try it out' }).click();
    await healthz.getByRole('button', { name: 'Execute' }).click();
    await expect.poll(() => healthz.locator('.live-responses-table tbody .response-col_status').first().textContent()).toContain('200');
    expect(errors).toEqual([]);
  });

  it.skipIf(!redisOk)('/admin/queues (bull-board) renders under the CSP', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, errors);
    const response = await page.goto(`${scaled!.baseUrl}/admin/queues?key=${KEY}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByText('Workyard queues').first().waitFor();
    expect(errors).toEqual([]);
  });

  it('an uploaded HTML object runs no script, inline or uploaded beside it', async () => {
    const put = (key: string, type: string, body: string) =>
      fetch(`${embedded.baseUrl}/blobs/${key}`, { method: 'PUT', headers: { 'content-type': type }, body });
    expect((await put('xss/run.js', 'text/javascript', "document.title = 'uploaded script ran';")).status).toBe(201);
    const html = "<!doctype html><title>inert</title><script>document.title = 'inline script ran'</script><script src=\"/blobs/xss/run.js\"></script><p>stored page</p>";
    expect((await put('xss/page.html', 'text/html', html)).status).toBe(201);

    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => violations.push(message.text()));
    const response = await page.goto(`${embedded.baseUrl}/blobs/xss/page.html`);
    expect(response?.headers()['content-type']).toBe('text/html');
    expect(response?.headers()['content-security-policy']).toBe("default-src 'none'; sandbox");
    await page.getByText('stored page').waitFor();
    expect(await page.title()).toBe('inert');
    // Chromium says why: the sandbox and the policy blocked them.
    expect(violations.join('\n')).toMatch(/sandbox|Content Security Policy/);
    await page.close();
  });
});
