// Security headers and rate limits for every route. Registered before any route so that both
// see every route the modules add (rate limiting hooks into each route as it is added).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import type { App } from '../app-context.js';
import type { Config } from '../config.js';
import { expectationFailed, missingHostError } from './client-errors.js';
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

/**
 * helmet's headers (the library @fastify/helmet wraps), computed once: none depends on the request
 * (no CSP nonces). @fastify/helmet runs helmet's middleware on every request, which halved the
 * throughput of a small route in bench/security.ts; setting the same headers costs far less.
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet({ contentSecurityPolicy })({} as IncomingMessage, response as unknown as ServerResponse, () => {});
  return headers;
}

async function security(app: App, options: SecurityOptions): Promise<void> {
  const { config } = options;
  const headers = securityHeaders();
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    reply.headers(headers);
    done(missingHostError(request));
  });
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
