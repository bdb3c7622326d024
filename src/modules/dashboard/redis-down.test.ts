import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../../../test/support/redis-server.js';
import { needService } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';

// Needs redis-server installed, not the shared Redis: this test stops a Redis of its own.
const ok = await needService('redis');

describe.skipIf(!ok)('GET /dashboard when Redis goes away (BullMQ queue, Redis counters)', () => {
  let redis: PrivateRedis;
  let wy: TestWorkyard;
  beforeAll(async () => {
    redis = await startPrivateRedis({ appendOnly: false });
    wy = await startTestWorkyard({ WORKYARD_REDIS_URL: redis.url, WORKYARD_DEPENDENCY_TIMEOUT_MS: '800' });
  });
  afterAll(async () => {
    // The queue driver's close waits for Redis: bring one back on the same port so it can finish.
    await redis?.start();
    await wy?.close();
    await redis?.stop();
  });

  it('answers 200 fast, each Redis panel saying redis is unavailable, the others still shown', async () => {
    // Up first (on a busy machine the first connection may take longer than the deadline).
    const summary = async () => (await wy.workyard.app.inject({ url: '/dashboard/summary' })).json();
    await expect.poll(async () => { const s = await summary(); return s.queues.available && s.stats.available; }, { timeout: 10_000, interval: 1_100 }).toBe(true);

    await redis.takeDown('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the one-second cache
    const started = performance.now();
    const page = await wy.workyard.app.inject({ url: '/dashboard' });
    // Two deadlines at most (the overview, then the tasks), whatever the machine's load adds.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/data-panel="queues"><p class="unavailable"><strong>Not available<\/strong> — [^<]*redis/);
    expect(page.body).toMatch(/data-panel="stats"><p class="unavailable"><strong>Not available<\/strong> — [^<]*redis/);
    // Blobs live on disk here: their panel does not depend on Redis.
    expect(page.body).toMatch(/data-panel="blobs"><div class="figures">/);
  });
});
