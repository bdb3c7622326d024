// Redis stopped under a running Workyard (BullMQ driver): compute answers 503 naming redis within
// a second, results already recorded stay readable from SQL, and sums work again once Redis is
// back, without restarting Workyard. Uses a redis-server of its own, never the shared one.
import { describe, expect, it, vi } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../../../test/support/redis-server.js';
import { needService } from '../../../test/support/services.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const redisAvailable = await needService('redis');

describe.skipIf(!redisAvailable)('compute while Redis (BullMQ queue) stops and comes back', () => {
  let redis: PrivateRedis;
  const wy = suiteWorkyard(async () => {
    redis = await startPrivateRedis({ appendOnly: false });
    return startTestWorkyard({ WORKYARD_REDIS_URL: redis.url, WORKYARD_REDIS_PREFIX: 'wy-compute-outage' });
  }, () => redis?.stop());

  const post = (url: string, body: object) => wy.workyard.app.inject({ method: 'POST', url, payload: body });

  it('answers 503 naming redis within a second, serves recorded results, and recovers by itself', async () => {
    expect(wy.workyard.ctx.drivers.queue).toBe('bullmq');
    const before = await post('/sync/sum', { numbers: [1, 2, 3] });
    expect(before.statusCode).toBe(200);
    const { task_id: doneId } = before.json();

    await redis.takeDown('SIGKILL');
    for (const url of ['/sync/sum', '/async/post_task']) {
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const res = await post(url, { numbers: [4, 5] });
        const elapsed = Date.now() - started;
        expect(res.statusCode, `${url} while redis is down`).toBe(503);
        expect(res.json().error).toMatchObject({ code: 'dependency_unavailable', dependency: 'redis' });
        expect(res.headers['retry-after']).toBe('1');
        expect(elapsed).toBeLessThan(1_000);
      }
    }
    // A finished task is read from its SQL record: Redis is not needed for it.
    const recorded = await wy.workyard.app.inject({ url: `/async/get_task_result/${doneId}` });
    expect(recorded.statusCode).toBe(200);
    expect(recorded.json()).toEqual({ session_id: doneId, status: 'done', result: 6, error: null });

    await redis.start();
    // until Redis is back every answer is the 503, never another failure
    const res = await vi.waitUntil(async () => {
      const answer = await post('/sync/sum', { numbers: [4, 5] });
      if (answer.statusCode !== 200) expect(answer.statusCode).toBe(503);
      return answer.statusCode === 200 && answer;
    }, { timeout: 20_000, interval: 200 });
    expect(res.json().result).toBe(9);
    const queued = await post('/async/post_task', { numbers: [1e16, 1, -1e16], delay_ms: 50 });
    expect(queued.statusCode).toBe(202);
    const id = queued.json().session_id;
    for (let i = 0; i < 100; i++) {
      const body = (await wy.workyard.app.inject({ url: `/async/get_task_result/${id}` })).json();
      if (body.status === 'done') return expect(body.result).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the task queued after Redis came back did not finish');
  }, 60_000);
});
