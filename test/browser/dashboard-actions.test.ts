// The dashboard's buttons in a real browser (Debian's Chromium through playwright-core), on every
// queue driver: a failed task retried from the page goes on to completed live; a running
// sum task (delay_ms) cancelled from the page ends cancelled; a job name paused from the page
// shows paused and starts nothing until resumed. Every press goes through the page's own script
// (its CSRF token), and the page is never reloaded. Leaves test-results/dashboard-actions-<driver>.png.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modules } from '../../src/modules/index.js';
import { launchChromium } from '../support/chromium.js';
import { SLOW_JOB, slowJobModule } from '../support/dashboard.js';
import { type DriverUnderTest, driverMatrix } from '../support/drivers.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const KEY = 'browser-actions-key';
const computeInstalled = modules.some((m) => m.name === 'compute');

for (const driver of await driverMatrix()) describe.skipIf(!driver.available)(`the dashboard buttons in Chromium, on the ${driver.name} queue`, () => {
  const screenshot = path.resolve(`test-results/dashboard-actions-${driver.name}.png`);
  let setup: DriverUnderTest;
  let wy: TestWorkyard;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const sameDocument = () => page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument);

  beforeAll(async () => {
    setup = await driver.setUp();
    wy = await startTestWorkyard({ ...setup.env, WORKYARD_API_KEY: KEY }, { modules: [...modules, slowJobModule] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    await page.goto(`${wy.baseUrl}/dashboard?key=${KEY}`);
    await page.waitForSelector('[data-live="live"]');
    // Marks this document: a reload would lose the mark.
    await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
  });
  afterAll(async () => {
    await browser?.close();
    await wy?.close();
    await setup?.cleanup();
  });

  it('retries a failed task from the failed-tasks panel, and it goes on to completed live', async () => {
    const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 200, failOnce: true });
    const failedRow = page.locator(`[data-panel="failed"] tr[data-failed-id="${job.id}"]`);
    await expect.poll(() => failedRow.count(), { timeout: 10_000 }).toBe(1);
    expect(await failedRow.textContent()).toContain('failed on purpose, once');

    await failedRow.locator('button[data-action]').click();
    const row = page.locator(`[data-panel="tasks"] tr[data-task-id="${job.id}"]`);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('completed');
    await expect.poll(() => failedRow.count()).toBe(0);
    expect(await page.locator('[data-action-status]').textContent()).toContain('retried');
    expect(await sameDocument()).toBe(true);
  });

  it.skipIf(!computeInstalled)('cancels a running sum task (delay_ms) from the latest-tasks panel: it ends cancelled', async () => {
    // Through the compute module's own API, as any client would.
    const created = await fetch(`${wy.baseUrl}/async/post_task`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [1, 2, 3], delay_ms: 60_000 }) });
    expect(created.status).toBe(202);
    const { session_id: id } = (await created.json()) as { session_id: string };
    const row = page.locator(`[data-panel="tasks"] tr[data-task-id="${id}"]`);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('active');

    await row.locator('button[data-action]').click();
    // far sooner than its minute of delay
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('cancelled');
    expect((await wy.workyard.ctx.queue.getJob(id))?.state).toBe('cancelled');
    expect(await sameDocument()).toBe(true);
  });

  it('pauses a job name from the queue panel (shown paused, nothing starts) and resumes it', async () => {
    const queueRow = page.locator(`[data-panel="queues"] tr[data-job="${SLOW_JOB}"]`);
    await queueRow.locator('button[data-action$="/pause"]').click();
    await expect.poll(() => queueRow.locator('[data-paused]').count(), { timeout: 10_000 }).toBe(1);

    const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 50 });
    const row = page.locator(`[data-panel="tasks"] tr[data-task-id="${job.id}"]`);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('queued');
    // Paused: a worker is idle and the job waits.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await row.getAttribute('data-status')).toBe('queued');
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });

    await queueRow.locator('button[data-action$="/resume"]').click();
    await expect.poll(() => queueRow.locator('[data-paused]').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('completed');
    expect(await sameDocument()).toBe(true);
    expect(consoleErrors).toEqual([]);
  });
});
