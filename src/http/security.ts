// Security headers and rate limits for every route. Registered before any route so that both
// plugins see every route the modules add (rate limiting hooks into each route as it is added).
import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';
import type { App } from '../app-context.js';
import type { Config } from '../config.js';
import { expectationFailed, requireHostHeader } from './client-errors.js';
import { closeRedisClient, createRedisClient } from '../infra/redis/connection.js';
import { type RateLimitRedis, rateLimitsEnabled, registerRateLimits } from './rate-limit.js';

export interface SecurityOptions {
  config: Config;
  /** shared counters for the scaled shape; absent → counters in this process */
  redis?: RateLimitRedis;
}

/**
 * The Content-Security-Policy every page gets. Scripts only from Workyard itself (Swagger UI and
 * the pages load theirs from files); inline styles are allowed because Swagger UI and the
 * server-rendered pages use style attributes; images may be data: URIs (Swagger UI's icons).
 * upgrade-insecure-requests is dropped: Workyard serves plain HTTP (TLS, where there is any, ends
 * at a proxy), and upgrading its own script URLs to https would break /docs.
 */
export const contentSecurityPolicy = {
  directives: {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'upgrade-insecure-requests': null,
  },
};

async function security(app: App, options: SecurityOptions): Promise<void> {
  const { config } = options;
  await app.register(fastifyHelmet, { contentSecurityPolicy });
  app.addHook('onRequest', requireHostHeader);
  app.server.on('checkExpectation', expectationFailed);
  let redis = options.redis;
  // In the scaled shape every API process counts in the same Redis, so a limit holds cluster-wide.
  if (!redis && config.redisUrl && rateLimitsEnabled(config.rateLimit)) {
    const client = createRedisClient(config, { name: 'workyard-rate-limit' });
    app.addHook('onClose', () => closeRedisClient(client));
    redis = client;
  }
  await registerRateLimits(app, config, redis);
}

export const securityPlugin = fp(security, { name: 'workyard-security', fastify: '5.x' });
