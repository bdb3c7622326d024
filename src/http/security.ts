// Security headers and rate limits for every route. Registered before any route so that both
// plugins see every route the modules add (rate limiting hooks into each route as it is added).
import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';
import type { App } from '../app-context.js';
import type { Config } from '../config.js';
import { type RateLimitRedis, registerRateLimits } from './rate-limit.js';

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
  await app.register(fastifyHelmet, { contentSecurityPolicy });
  await registerRateLimits(app, options.config, options.redis);
}

export const securityPlugin = fp(security, { name: 'workyard-security', fastify: '5.x' });
