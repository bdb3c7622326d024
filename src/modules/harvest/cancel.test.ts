// A harvest task cancelled while it downloads (DELETE /tasks/:id): the download is dropped at once
// (the site sees its connection closed), the task ends cancelled within a second, and the harvest
// record says it was cancelled while it ran.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { createHarvestModule } from './index.js';

const poll = { timeout: 10_000, interval: 20 };

describe('cancelling a running harvest task', () => {
  let site: FixtureSite;
  let wy: TestWorkyard;
  /** when the site saw each stalled download's connection close */
  const closedAt = new Map<string, number>();
  const stalled = new Set<string>();
  // answers the headers and some bytes, then nothing: only the client can end it
  const stall = (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '';
    stalled.add(path);
    response.writeHead(200, { 'content-type': path.endsWith('.png') ? 'image/png' : 'text/html' });
    response.write(path.endsWith('.png') ? Buffer.from([0x89, 0x50, 0x4e, 0x47]) : '<p>');
    response.on('close', () => closedAt.set(path, Date.now()));
  };

  beforeAll(async () => {
    site = await startFixtureSite({ '/page.html': html('<img src="/stall.png">'), '/stall.png': stall, '/stall.html': stall });
    wy = await startTestWorkyard(
      { WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' },
      // timeouts far beyond the test: what ends the download is the cancel
      { modules: [tasksModule, createHarvestModule({ timeouts: { totalMs: 60_000, headersMs: 60_000, bodyIdleMs: 60_000 } })] },
    );
  });
  afterAll(async () => {
    await wy?.close();
    await site?.close();
  });

  it.each([
    ['an image download', '/images_tasks', '/page.html', '/stall.png'],
    ['a page download', '/text_tasks', '/stall.html', '/stall.html'],
  ])('%s stops, and the task ends cancelled, within a second', async (_what, route, page, stalledPath) => {
    const posted = await wy.workyard.app.inject({ method: 'POST', url: route, payload: { url: `${site.url}${page}` } });
    expect(posted.statusCode, posted.body).toBe(202);
    const { id } = posted.json() as { id: string };
    await vi.waitUntil(() => stalled.has(stalledPath), poll);
    const cancelledAt = Date.now();
    const res = await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${id}` });
    expect(res.statusCode, res.body).toBe(202);
    expect((await wy.workyard.ctx.queue.waitForFinish(id, 5_000)).state).toBe('cancelled');
    await vi.waitUntil(() => closedAt.has(stalledPath), { timeout: 1_000, interval: 10 });
    expect(closedAt.get(stalledPath)! - cancelledAt).toBeLessThan(1_000);
    await vi.waitUntil(async () => (await wy.workyard.app.inject({ url: `${route}/${id}` })).json().status === 'failed', poll);
    expect((await wy.workyard.app.inject({ url: `${route}/${id}` })).json()).toMatchObject({ status: 'failed', error: 'cancelled while it ran' });
    stalled.delete(stalledPath);
    closedAt.delete(stalledPath);
  });
});
