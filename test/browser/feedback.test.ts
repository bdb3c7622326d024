// The feedback page in a real browser (Debian's Chromium through playwright-core): both forms
// submitted as a person would, both entries listed, a bad email answered beside its field, user
// text shown as text with no script run, and no console error (a CSP violation would be one).
// Leaves screenshots in test-results/feedback*.png.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedbackModule } from '../../src/modules/feedback/index.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';
import { launchChromium } from '../support/chromium.js';

const RESULTS = path.resolve('test-results');

describe('the feedback page in Chromium', () => {
  let wy: TestWorkyard;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    wy = await startTestWorkyard({}, { modules: [tasksModule, feedbackModule] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    // an alert() would mean user text ran as script
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    fs.mkdirSync(RESULTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await wy?.close();
  });

  async function fill(form: 'sync' | 'async', values: { name: string; email: string; message: string; rating?: string }) {
    await page.fill(`#${form}-name`, values.name);
    await page.fill(`#${form}-email`, values.email);
    await page.selectOption(`#${form}-rating`, values.rating ?? '');
    await page.fill(`#${form}-message`, values.message);
  }

  it('reaches the feedback page from the home page', async () => {
    await page.goto(`${wy.baseUrl}/`);
    await page.click('a[href="/feedback"] >> nth=1');
    await page.waitForURL(`${wy.baseUrl}/feedback`);
    expect(await page.textContent('h1')).toBe('Feedback');
  });

  it('"Save now" saves and lists the entry, showing user text as text', async () => {
    await fill('sync', { name: 'Ada <script>alert("name")</script>', email: 'ada@example.com', rating: '5', message: 'Saved at once.\n<img src=x onerror=alert("message")>' });
    await Promise.all([page.waitForURL(/\/feedback\?saved=[0-9a-f-]{36}$/), page.click('#form-sync button[type=submit]')]);
    expect(await page.textContent('#notice')).toContain('your feedback was saved');
    const first = page.locator('li.entry').first();
    expect(await first.locator('.name').textContent()).toBe('Ada <script>alert("name")</script>');
    expect(await first.locator('.message').textContent()).toBe('Saved at once.\n<img src=x onerror=alert("message")>');
    expect(await first.locator('.rating').textContent()).toContain('5/5');
    expect(await page.locator('li.entry img, li.entry script').count()).toBe(0);
  });

  it('"Queue it" queues, names the task, and the entry is listed once a worker saved it', async () => {
    await fill('async', { name: 'Grace (queued)', email: 'grace@example.com', message: 'Saved by a worker.' });
    await Promise.all([page.waitForURL(/\/feedback\?queued=[0-9a-f-]{36}$/), page.click('#form-async button[type=submit]')]);
    const taskId = new URL(page.url()).searchParams.get('queued')!;
    expect(await page.textContent('#notice')).toContain(`queued as task ${taskId}`);
    expect(await page.getAttribute('#notice a', 'href')).toBe(`/tasks/${taskId}`);
    const deadline = Date.now() + 15_000;
    while (!(await page.locator(`li.entry[data-id="${taskId}"]`).count())) {
      expect(Date.now(), 'the queued entry did not appear').toBeLessThan(deadline);
      await page.waitForTimeout(200);
      await page.reload();
    }
    const names = await page.locator('li.entry .name').allTextContents();
    expect(names).toEqual(['Grace (queued)', 'Ada <script>alert("name")</script>']);
    await page.screenshot({ path: path.join(RESULTS, 'feedback.png'), fullPage: true });
  });

  it('a bad email comes back with the error beside the field and what was typed kept', async () => {
    await page.goto(`${wy.baseUrl}/feedback`);
    await fill('sync', { name: 'Bad Email', email: 'not-an-email', rating: '3', message: 'Keep this text.' });
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/feedback/sync')), page.click('#form-sync button[type=submit]')]);
    expect(response.status()).toBe(400);
    const error = page.locator('#sync-email-error');
    expect(await error.isVisible()).toBe(true);
    expect(await error.textContent()).toContain('Enter a valid email address');
    // beside its field: in the same field block, right after the input, which points to it
    expect(await page.getAttribute('#sync-email', 'aria-describedby')).toBe('sync-email-error');
    expect(await page.getAttribute('#sync-email', 'aria-invalid')).toBe('true');
    expect(await error.evaluate((el) => el.previousElementSibling?.id)).toBe('sync-email');
    const field = await page.locator('#sync-email').boundingBox();
    const message = await error.boundingBox();
    expect(message!.y).toBeGreaterThanOrEqual(field!.y + field!.height - 1);
    expect(message!.y).toBeLessThan(field!.y + field!.height + 40);
    // styled by the page's stylesheet (allowed by its CSP hash)
    expect(await error.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).color)).toBe('rgb(179, 38, 30)');
    // no other field is marked, and what was typed is still there
    expect(await page.locator('.error').count()).toBe(1);
    expect(await page.inputValue('#sync-name')).toBe('Bad Email');
    expect(await page.inputValue('#sync-email')).toBe('not-an-email');
    expect(await page.inputValue('#sync-rating')).toBe('3');
    expect(await page.inputValue('#sync-message')).toBe('Keep this text.');
    await page.screenshot({ path: path.join(RESULTS, 'feedback-error.png'), fullPage: true });

    // corrected and sent again, it is saved
    await page.fill('#sync-email', 'fixed@example.com');
    await Promise.all([page.waitForURL(/\/feedback\?saved=/), page.click('#form-sync button[type=submit]')]);
    expect(await page.locator('li.entry .name').first().textContent()).toBe('Bad Email');
  });

  it('sends the form with name and email left empty: saved, and listed as Anonymous', async () => {
    await page.goto(`${wy.baseUrl}/feedback`);
    expect(await page.textContent('label[for="sync-name"]')).toBe('Name (optional)');
    expect(await page.getAttribute('#sync-name', 'placeholder')).toBe('Anonymous');
    expect(await page.textContent('label[for="sync-email"]')).toBe('Email (optional, never shown)');
    await fill('sync', { name: '', email: '', message: 'No name given.' });
    await Promise.all([page.waitForURL(/\/feedback\?saved=[0-9a-f-]{36}$/), page.click('#form-sync button[type=submit]')]);
    const id = new URL(page.url()).searchParams.get('saved')!;
    const entry = page.locator(`li.entry[data-id="${id}"]`);
    expect(await entry.locator('.name').textContent()).toBe('Anonymous');
    expect(await entry.locator('.message').textContent()).toBe('No name given.');
    // set apart from a person who calls themself Anonymous
    expect(await entry.locator('.name').evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).fontStyle)).toBe('italic');
  });

  it('ran no script from user text and logged no console error (no CSP violation)', () => {
    expect(dialogs).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  });
});
