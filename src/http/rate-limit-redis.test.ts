// Rate limits in the scaled shape: counters in Redis, shared by every API process, and a limiter
// that cannot reach Redis lets requests through at once instead of failing them.
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { needService, redisUrl, uniqueRedisPrefix } from '../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';
import type { App, WorkyardModule } from '../app-context.js';
import { loadConfig } from '../config.js';
import { createRedisClient } from '../infra/redis/connection.js';
import { errorHandler } from './error-handler.js';
import { registerRateLimits } from './rate-limit.js';

const ok = await needService('redis');

const limitedModule: WorkyardModule = {
  name: 'limited',
  create: () => ({
    routes(app) {
      app.get('/limited', { schema: { tags: ['limited'] } }, async () => ({ ok: true }));
    },
  }),
};

describe('rate limits without Redis', () => {
  it('let requests through at once when Redis does not answer (the limiter fails open)', async () => {
    const config = loadConfig({ WORKYARD_RATE_LIMIT_MAX: '1', WORKYARD_REDIS_URL: 'redis://127.0.0.1:1', WORKYARD_DEPENDENCY_TIMEOUT_MS: '300' });
    const client = createRedisClient(config);
    const app = Fastify({ logger: false }) as unknown as App;
    app.setErrorHandler(errorHandler);
    try {
      await registerRateLimits(app, config, client);
      app.get('/limited', { schema: { tags: ['limited'] } }, async () => ({ ok: true }));
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const res = await app.inject({ url: '/limited' });
        expect(res.statusCode).toBe(200);
        expect(performance.now() - started).toBeLessThan(500);
      }
    } finally {
      await app.close();
      client.disconnect();
    }
  });
});

describe.skipIf(!ok)('rate limits with Redis (scaled shape)', () => {
  const started: TestWorkyard[] = [];
  afterEach(async () => {
    for (const wy of started.splice(0)) await wy.close();
  });

  it('count one limit across two API processes sharing Redis', async () => {
    const env = { WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('ratelimit'), WORKYARD_RATE_LIMIT_MAX: '4', WORKYARD_RATE_LIMIT_WINDOW_MS: '60000' };
    const a = await startTestWorkyard(env, { modules: [limitedModule], worker: false });
    started.push(a);
    const b = await startTestWorkyard(env, { modules: [limitedModule], worker: false });
    started.push(b);
    const codes: number[] = [];
    for (const wy of [a, b, a, b, a, b]) codes.push((await fetch(`${wy.baseUrl}/limited`)).status);
    expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
    const limited = await fetch(`${b.baseUrl}/limited`);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });
});
