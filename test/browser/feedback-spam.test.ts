// The forms' spam rules in a real browser (Debian's Chromium through playwright-core), with the
// rules as shipped (2 s minimum fill time): a person who types the form and sends it is saved and
// listed; a script that fills and posts the form the moment the page loads, or that fills the
// honeypot, sees the same "saved" answer, and its post is only in the admin's spam view. The
// honeypot is out of a person's way: not visible, not reachable with Tab.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedbackModule } from '../../src/modules/feedback/index.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { launchChromium } from '../support/chromium.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const KEY = 'spam-browser-key';

describe('the spam rules in Chromium', () => {
  let wy: TestWorkyard;
  let browser: Browser;

  beforeAll(async () => {
    // the shipped rules: the test support turns them off for every other test
    wy = await startTestWorkyard({ WORKYARD_API_KEY: KEY, WORKYARD_FORM_MIN_FILL_MS: '2000', WORKYARD_FORM_RATE_LIMIT: '10' }, { modules: [tasksModule, feedbackModule] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await wy?.close();
  });

  const messages = async (spam: boolean) => {
    const res = await fetch(`${wy.baseUrl}/feedback.json${spam ? '?spam=true' : ''}`, { headers: { authorization: `Bearer ${KEY}` } });
    return ((await res.json()) as { items: { message: string }[] }).items.map((item) => item.message);
  };

  async function openForm(): Promise<Page> {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${wy.baseUrl}/feedback`);
    return page;
  }

  it('saves and lists what a person types and sends', async () => {
    const page = await openForm();
    // a person: reads the page, clicks into the fields and types at a human pace (over 2 s in all)
    await page.waitForTimeout(1_000);
    await page.click('#sync-name');
    await page.keyboard.type('Grace', { delay: 60 });
    await page.click('#sync-message');
    await page.keyboard.type('I typed this myself, slowly.', { delay: 60 });
    // Tab from the message goes to the button, never to the honeypot
    await page.keyboard.press('Tab');
    expect(await page.locator('#form-sync button[type=submit]').evaluate((button) => {
      const node = button as unknown as { ownerDocument: { activeElement: unknown } };
      return node.ownerDocument.activeElement === node;
    })).toBe(true);
    await Promise.all([page.waitForURL(/\/feedback\?saved=[0-9a-f-]{36}$/), page.keyboard.press('Enter')]);
    expect(await page.textContent('#notice')).toContain('your feedback was saved');
    expect(await page.locator('.entry .message', { hasText: 'I typed this myself, slowly.' }).count()).toBe(1);
    // the honeypot: off-screen, and not in the accessibility tree (aria-hidden) that screen readers read
    const box = await page.locator('#sync-website').boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(0);
    expect(await page.getByRole('textbox', { name: 'Leave this field empty' }).count()).toBe(0);
    expect(await page.getByRole('textbox', { name: 'Name (optional)' }).count()).toBe(2);
    await page.close();
  });

  it('marks a script that posts at once, or fills the honeypot, as spam, answering it the same', async () => {
    const fast = await openForm();
    await fast.locator('#sync-message').fill('posted the moment the page loaded');
    await fast.locator('#form-sync').evaluate((form) => (form as unknown as { submit(): void }).submit());
    await fast.waitForURL(/\/feedback\?saved=[0-9a-f-]{36}$/);
    expect(await fast.textContent('#notice')).toContain('your feedback was saved');
    await fast.close();

    const filler = await openForm();
    await filler.waitForTimeout(2_200);
    // a bot fills every input it finds, the hidden one too
    await filler.locator('#form-async input[type=text]').evaluateAll((inputs) => {
      for (const input of inputs) (input as unknown as { value: string }).value = 'http://spam.example/';
    });
    await filler.locator('#async-message').fill('filled every field, the honeypot too');
    await filler.locator('#form-async').evaluate((form) => (form as unknown as { submit(): void }).submit());
    await filler.waitForURL(/\/feedback\?queued=[0-9a-f-]{36}$/);
    await filler.close();

    await expect.poll(() => messages(true), { timeout: 10_000 }).toEqual(expect.arrayContaining(['posted the moment the page loaded', 'filled every field, the honeypot too']));
    const listed = await messages(false);
    expect(listed).toContain('I typed this myself, slowly.');
    expect(listed).not.toContain('posted the moment the page loaded');
    expect(listed).not.toContain('filled every field, the honeypot too');
  });
});
