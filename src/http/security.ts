// Security headers and rate limits for every route. Registered before any route so that both
// see every route the modules add (rate limiting hooks into each route as it is added).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import type { App } from '../app-context.js';
import type { Config } from '../config.js';
import { expectationFailed, missingHostError } from './client-errors.js';
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

/**
 * What a JSON answer needs (OWASP's REST Security Cheat Sheet): it is never rendered as a document,
 * so the page headers (framing, referrer, cross-origin isolation, DNS prefetch…) protect nothing
 * there; 650 bytes on every API answer cost more than the rest of the headers together. A JSON
 * answer gets nosniff, HSTS, a policy that loads and frames nothing, and no-store: API answers
 * carry data a shared cache must not keep. A route that set its own Cache-Control keeps it, and an
 * answer with an ETag (a stored object that happens to be JSON) stays revalidatable.
 */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

/** Both kinds of answer get these, set before the route runs (a hijacked stream included). */
export const COMMON_HEADERS = (({ 'x-content-type-options': nosniff, 'strict-transport-security': hsts }) => ({
  'x-content-type-options': nosniff,
  'strict-transport-security': hsts,
}))(securityHeaders());

/** Everything else (pages, Swagger UI, stored objects, files): the full set, as helmet makes it. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(securityHeaders()).filter(([name]) => !(name in COMMON_HEADERS)),
);
const PAGE_HEADER_ENTRIES = Object.entries(PAGE_HEADERS);

/** application/json, application/problem+json, application/x-ndjson… — not a document a browser renders. */
export function isJsonType(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  return contentType.startsWith('application/json') || /^application\/[^;]*\+json\b/.test(contentType) || contentType.startsWith('application/x-ndjson');
}

/**
 * Adds the kind's headers once the answer's type is known, leaving any a route set itself (a page's
 * own CSP, a stored object's sandbox, a cacheable ETag answer's Cache-Control). A named function,
 * not a closure per request.
 */
export function addHeadersByKind(_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) {
  if (isJsonType(reply.getHeader('content-type'))) {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', JSON_HEADERS['content-security-policy']);
    if (!reply.hasHeader('cache-control') && !reply.hasHeader('etag')) reply.header('cache-control', JSON_HEADERS['cache-control']);
  } else {
    for (let i = 0; i < PAGE_HEADER_ENTRIES.length; i++) {
      const [name, value] = PAGE_HEADER_ENTRIES[i];
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
  }
  done(null, payload);
}

export function addCommonHeaders(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
  reply.headers(COMMON_HEADERS);
  done(missingHostError(request));
}

async function security(app: App, options: SecurityOptions): Promise<void> {
  const { config } = options;
  app.addHook('onRequest', addCommonHeaders);
  app.addHook('onSend', addHeadersByKind);
  app.server.on('checkExpectation', expectationFailed);
  let redis = options.redis;
  // In the scaled shape every API process counts in the same Redis, so a limit holds cluster-wide.
  if (!redis && config.redisUrl && rateLimitsEnabled(config.rateLimit)) {
    const { createRedisClient, closeRedisClient } = await import('../infra/redis/connection.js');
    const client = createRedisClient(config, { name: 'workyard-rate-limit' });
    app.addHook('onClose', () => closeRedisClient(client));
    redis = client;
  }
  await registerRateLimits(app, config, redis);
}

export const securityPlugin = fp(security, { name: 'workyard-security', fastify: '5.x' });
