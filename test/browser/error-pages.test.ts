// What a person sees in a real browser (Debian's Chromium through playwright-core) when a request
// fails: a page, never raw JSON. A feedback form over 64 KiB comes back with 413, the reason, and
// what was typed; so does one over 1 MiB (the form empty then: it was not read); a bad page number
// and an API link without its parameter are pages too. Screenshots in test-results/error-*.png.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeModule } from '../../src/modules/compute/index.js';
import { feedbackModule } from '../../src/modules/feedback/index.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';
import { launchChromium } from '../support/chromium.js';

const RESULTS = path.resolve('test-results');

describe('error pages in Chromium', () => {
  let wy: TestWorkyard;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    wy = await startTestWorkyard({}, { modules: [tasksModule, feedbackModule, computeModule] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    fs.mkdirSync(RESULTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await wy?.close();
  });

  /** Fills the "Save now" form as a person would; the message past the textarea's maxlength, as a pasted text would be in a browser without it. */
  async function fillOversized(message: string) {
    await page.goto(`${wy.baseUrl}/feedback`);
    await page.fill('#sync-name', 'Ada Lovelace');
    await page.fill('#sync-email', 'ada@example.com');
    await page.selectOption('#sync-rating', '2');
    await page.locator('#sync-message').evaluate((el, text) => {
      el.removeAttribute('maxlength');
      (el as unknown as { value: string }).value = text;
    }, message);
  }

  async function submit() {
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/feedback/sync')), page.click('#form-sync button[type=submit]')]);
    await page.waitForLoadState('domcontentloaded');
    return response;
  }

  it('a form over 64 KiB: 413, the page with the reason, and what was typed, ready to shorten and send again', async () => {
    const message = `Too long: ${'é'.repeat(36_000)}`; // 72 KB of UTF-8, far more percent-encoded
    await fillOversized(message);
    const response = await submit();
    expect(response.status()).toBe(413);
    expect(response.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.textContent('h1')).toBe('Feedback');
    expect(await page.textContent('.alert')).toContain('Your feedback was not saved: it is larger than this form accepts (64 KiB in all).');
    expect(await page.inputValue('#sync-name')).toBe('Ada Lovelace');
    expect(await page.inputValue('#sync-email')).toBe('ada@example.com');
    expect(await page.inputValue('#sync-rating')).toBe('2');
    expect(await page.inputValue('#sync-message')).toBe(message);
    expect(await page.textContent('#sync-message-error')).toBe('Message must be at most 5,000 characters.');
    await page.screenshot({ path: path.join(RESULTS, 'error-feedback-413.png'), fullPage: false });

    // shortened and sent again from the same page, it is saved
    await page.fill('#sync-message', 'Short now.');
    await Promise.all([page.waitForURL(/\/feedback\?saved=/), page.click('#form-sync button[type=submit]')]);
    expect(await page.locator('li.entry .message').first().textContent()).toBe('Short now.');
  });

  it('a form over 1 MiB: 413 and the page saying it was too large to keep, not a broken connection', async () => {
    await fillOversized('x'.repeat(1_200_000));
    const response = await submit();
    expect(response.status()).toBe(413);
    expect(await page.textContent('.alert')).toContain('too large even to show again here');
    expect(await page.inputValue('#sync-name')).toBe('');
  });

  it('a bad page number: 400 and the feedback page with the error and its forms', async () => {
    const response = await page.goto(`${wy.baseUrl}/feedback?page=0`);
    expect(response?.status()).toBe(400);
    expect(await page.textContent('.alert')).toContain('This page address is not valid: page (querystring): must be >= 1');
    expect(await page.locator('#form-sync').count()).toBe(1);
    expect(await page.locator('#form-async').count()).toBe(1);
  });

  it('an API route opened without its parameter: 400 as a page naming it, with links on', async () => {
    const response = await page.goto(`${wy.baseUrl}/async/get_task_result`);
    expect(response?.status()).toBe(400);
    expect(await page.textContent('h1')).toBe('400 Bad Request');
    expect(await page.textContent('#error')).toContain('session_id');
    expect(await page.locator('a[href="/"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(RESULTS, 'error-page-400.png'), fullPage: false });
  });

  it('logged no console error other than the failed loads themselves (no CSP violation)', () => {
    expect(consoleErrors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  });
});
