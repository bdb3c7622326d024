// Rate limits per client address and route group. A route's group is its tag in /docs (the module
// that owns it); pages without a tag group by their first path segment, and the dashboard and the
// queue admin pages form the group `admin`. Operations routes (probes, metrics, docs) are never
// limited: a load balancer or Prometheus must not be told 429.
//
// Counters live in this process (embedded shape) or in Redis (scaled shape, shared by every API
// process). A limiter that cannot reach Redis lets the request through: a Redis outage must not
// take down routes that do not need Redis, and the outage is already reported by /readyz.
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { App } from '../app-context.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { callDependency } from '../infra/dependency-errors.js';
import { loadLua } from '../infra/redis/lua.js';

export type RateLimitRedis = Redis;

const OPS_ROUTES = /^\/(healthz|readyz|metrics|openapi\.json|docs)(\/|$)/;
const ADMIN_PAGES = /^\/(dashboard|admin)(\/|$)/;

/** The group a route's requests are counted in; null for routes that are never limited. */
export function routeGroup(url: string | undefined, tags: unknown): string | null {
  if (!url || OPS_ROUTES.test(url)) return null;
  const tag = Array.isArray(tags) && typeof tags[0] === 'string' ? tags[0].toLowerCase() : undefined;
  if (tag === 'operations') return null;
  if (tag) return tag;
  if (ADMIN_PAGES.test(url)) return 'admin';
  return /^\/([^/:*]+)/.exec(url)?.[1]?.toLowerCase() ?? 'default';
}

/** The limit of a group: its override when it has one, else the default; 0 means unlimited. */
export function groupLimit(config: Config['rateLimit'], group: string): number {
  return config.groups[group] ?? config.max;
}

export function rateLimitsEnabled(config: Config['rateLimit']): boolean {
  return config.max > 0 || Object.values(config.groups).some((max) => max > 0);
}

function groupOfRequest(request: FastifyRequest): string | null {
  return routeGroup(request.routeOptions.url, request.routeOptions.schema?.tags);
}

// Keys are "<group> <address>", so that allowList and max, which receive only the key, know the group.
const groupOfKey = (key: string) => key.slice(0, key.indexOf(' '));

export async function registerRateLimits(app: App, config: Config, redis?: RateLimitRedis): Promise<void> {
  const limits = config.rateLimit;
  if (!rateLimitsEnabled(limits)) return;
  const windowMs = limits.windowMs;
  // ioredis is loaded only when limits are counted in Redis
  const store = redis
    ? redisStore(redis, (await import('../infra/redis/connection.js')).firstConnection, `${config.redisPrefix}:ratelimit:`, Math.min(250, config.dependencyTimeoutMs), app)
    : localStore();
  await app.register(fastifyRateLimit, {
    global: true,
    timeWindow: windowMs,
    store,
    skipOnError: true,
    keyGenerator: (request) => `${groupOfRequest(request) ?? '-'} ${normalizeIP(request.ip)}`,
    allowList: (_request, key) => {
      const group = groupOfKey(key);
      return group === '-' || groupLimit(limits, group) === 0;
    },
    max: (_request, key) => groupLimit(limits, groupOfKey(key)),
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `too many requests: at most ${context.max} per ${windowMs / 1000} s to these routes; retry in ${context.after}`, {
        retry_after_s: Math.ceil(context.ttl / 1000),
      }),
  });
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

interface CounterStore {
  incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void;
  child(): CounterStore;
}

/** One counter per key for the whole process (the plugin's own store keeps one per route). */
function localStore() {
  const MAX_KEYS = 100_000;
  const counters = new Map<string, { count: number; resetAt: number }>();
  return class LocalGroupStore implements CounterStore {
    incr(key: string, callback: IncrCallback, timeWindow: number) {
      const now = Date.now();
      let counter = counters.get(key);
      if (!counter || counter.resetAt <= now) {
        counters.delete(key);
        // Oldest first: a flood of distinct addresses evicts the stalest counters, not memory.
        if (counters.size >= MAX_KEYS) counters.delete(counters.keys().next().value!);
        counter = { count: 0, resetAt: now + timeWindow };
        counters.set(key, counter);
      }
      counter.count++;
      callback(null, { current: counter.count, ttl: counter.resetAt - now });
    }
    child() {
      return this;
    }
  };
}

const INCR_SCRIPT = loadLua(import.meta.url, 'rate-limit-incr.lua');

/** Counters shared by every API process; each call has a short deadline so a slow Redis costs little. */
function redisStore(redis: RateLimitRedis, firstConnection: (client: RateLimitRedis) => Promise<void>, prefix: string, deadlineMs: number, app: App) {
  let failing = false;
  return class RedisGroupStore implements CounterStore {
    incr(key: string, callback: IncrCallback, timeWindow: number) {
      callDependency('redis', deadlineMs, async () => {
        // A client still making its first connection refuses commands; the first requests wait for it.
        await firstConnection(redis);
        return (await redis.eval(INCR_SCRIPT, 1, prefix + key, String(timeWindow))) as [number, number];
      }).then(
        ([current, ttl]) => {
          failing = false;
          callback(null, { current, ttl });
        },
        (error: Error) => {
          if (!failing) app.log.warn({ err: error }, 'rate limiting is off until Redis answers again');
          failing = true;
          callback(error);
        },
      );
    }
    child() {
      return this;
    }
  };
}
