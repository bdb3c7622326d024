// Redis clients for everything Workyard keeps in Redis (the BullMQ queue, counters, rate limits).
// Two kinds, because a request path and a worker want opposite things from a lost connection:
//  - 'command': fails at once while Redis is away (no offline queue, one retry), so a request
//    answers 503 instead of waiting; it reconnects in the background and recovers by itself.
//  - 'blocking': for BullMQ workers and event readers, whose commands block on the server by
//    design; they wait out an outage (BullMQ requires maxRetriesPerRequest: null) and resume.
// `rediss://` URLs select TLS (ioredis reads the scheme).
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../../config.js';
import { withDeadline } from '../deadline.js';
import { callDependency } from '../dependency-errors.js';

export type RedisClientKind = 'command' | 'blocking';

export interface RedisClientOptions {
  kind?: RedisClientKind;
  /** shows in CLIENT LIST, to tell connections apart when debugging */
  name?: string;
  /** called with connection errors (they also surface as rejected commands); default: ignored */
  onError?: (error: Error) => void;
}

/** Reconnect soon after a short outage, then every 2 s at most, forever: recovery needs no restart. */
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

export function redisClientOptions(config: Pick<Config, 'dependencyTimeoutMs'>, kind: RedisClientKind, name?: string): RedisOptions {
  const common: RedisOptions = {
    connectionName: name,
    // A host that does not answer must not hold a connection attempt for ioredis' default 10 s.
    connectTimeout: Math.max(1_000, config.dependencyTimeoutMs * 2),
    keepAlive: 10_000,
    retryStrategy,
    // BullMQ defines its Lua scripts on the client; a lazy client would connect on first use anyway.
    lazyConnect: false,
  };
  return kind === 'command'
    ? { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 }
    : { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null };
}

/**
 * An ioredis client that knows whether it ever connected. A command client refuses commands until
 * its first connection is up, which would turn the first requests after start-up into 503s, so
 * callers await `firstConnection` (within their deadline) first: it waits only for the first
 * connection; after an outage, commands fail fast again.
 */
export class RedisClient extends Redis {
  /** resolves on the first 'ready'; rejects when the client ends before it (one pair of listeners, however many wait) */
  readonly firstConnection: Promise<void>;

  constructor(url: string, options: RedisOptions) {
    super(url, options);
    this.firstConnection = new Promise<void>((resolve, reject) => {
      const onReady = () => {
        this.off('end', onEnd);
        resolve();
      };
      const onEnd = () => {
        this.off('ready', onReady);
        reject(new Error('Connection is closed.'));
      };
      this.once('ready', onReady);
      this.once('end', onEnd);
    });
    this.firstConnection.catch(() => {});
  }
}

/** A client for `config.redisUrl` (which must be set). */
export function createRedisClient(config: Pick<Config, 'redisUrl' | 'dependencyTimeoutMs'>, options: RedisClientOptions = {}): RedisClient {
  if (!config.redisUrl) throw new Error('WORKYARD_REDIS_URL is not set');
  const client = new RedisClient(config.redisUrl, redisClientOptions(config, options.kind ?? 'command', options.name));
  // Without a listener ioredis logs every failed reconnection attempt to stderr.
  client.on('error', (error: Error) => options.onError?.(error));
  return client;
}

/** See RedisClient; a client made elsewhere counts as connected once it is ready. */
export function firstConnection(client: Redis): Promise<void> {
  if (client instanceof RedisClient) return client.firstConnection;
  return client.status === 'ready' ? Promise.resolve() : Promise.reject(new Error(`redis client is ${client.status}`));
}

/** Resolves when Redis answers PING, rejects with a 503-shaped error naming redis within the deadline. */
export function pingRedis(client: Redis, timeoutMs: number): Promise<void> {
  return callDependency('redis', timeoutMs, async () => {
    await firstConnection(client);
    await client.ping();
  });
}

/** Closes a client without waiting on a Redis that is gone: QUIT when connected, else disconnect. */
export async function closeRedisClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') return void client.disconnect();
  await withDeadline(() => client.quit().catch(() => client.disconnect()), 1_000, () => client.disconnect());
}
