import { describe, expect, it } from 'vitest';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { modules } from '../index.js';
import { KEY_COOKIE } from './operator-access.js';
import { SLOW_JOB, slowJobModule } from '../../../test/support/dashboard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const ok = await needService('redis');
const KEY = 'bull-board-test-key';

describe.skipIf(!ok)('bull-board at /admin/queues (BullMQ queue driver)', () => {
  const wy = suiteWorkyard(() =>
    startTestWorkyard({ WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('dashboard'), WORKYARD_API_KEY: KEY }, { modules: [...modules, slowJobModule] }),
  );

  it('is mounted with the BullMQ driver and needs the operator key', async () => {
    expect(wy.workyard.ctx.drivers.queue).toBe('bullmq');
    expect((await wy.workyard.app.inject({ url: '/admin/queues' })).statusCode).toBe(401);
    const page = await wy.workyard.app.inject({ url: `/admin/queues?key=${KEY}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/bull-board|Workyard queues/i);
    expect(String(page.headers['set-cookie'])).toContain(`${KEY_COOKIE}=${KEY}`);
    // Offline, and within the Content-Security-Policy: nothing from another origin.
    expect(page.body).not.toMatch(/<(link|script)[^>]+(href|src)="https?:/);
  });

  it('lists a queue for every job name, also ones enqueued after it was first opened', async () => {
    const job = await wy.workyard.ctx.queue.enqueue(SLOW_JOB, { ms: 1 });
    await wy.workyard.ctx.queue.waitForFinish(job.id, 10_000);
    const res = await wy.workyard.app.inject({ url: '/admin/queues/api/queues?activeQueue=&status=latest&page=1', headers: { cookie: `${KEY_COOKIE}=${KEY}` } });
    expect(res.statusCode).toBe(200);
    const names = (res.json().queues as { name: string }[]).map((q) => q.name);
    expect(names).toContain(SLOW_JOB);
    // Its API needs the key as well.
    expect((await wy.workyard.app.inject({ url: '/admin/queues/api/queues' })).statusCode).toBe(401);
  });

  it('is linked from the dashboard', async () => {
    const page = await wy.workyard.app.inject({ url: '/dashboard', headers: { authorization: `Bearer ${KEY}` } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<a href="/admin/queues">queue admin</a>');
    expect(page.body).toContain('<span class="muted">queue</span> bullmq');
  });
});
