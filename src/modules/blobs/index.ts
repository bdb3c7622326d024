// The blobs module: a key → bytes store over ctx.blobs (S3 or local disk), with the native
// streaming routes, the compatible base64 routes, and optional write-behind for small objects.
import type { Redis } from 'ioredis';
import type { AppContext, WorkyardModule } from '../../app-context.js';
import { closeRedisClient, createRedisClient } from '../../infra/redis/connection.js';
import { BlobService } from './blob-service.js';
import type { FastTier } from './fast-tier/contract.js';
import { RedisFastTier } from './fast-tier/redis.js';
import { SqlFastTier, fastTierMigrations } from './fast-tier/sql.js';
import { compatBlobRoutes } from './routes-compat.js';
import { nativeBlobRoutes } from './routes-native.js';
import { UPLOAD_JOB, type UploadJobData, WriteBehind, type WriteBehindOptions } from './write-behind.js';

export type BlobsModuleOptions = Pick<WriteBehindOptions, 'leaseMs' | 'sweepAfterMs' | 'sweepEveryMs'>;

/** What one app (one AppContext) of this process uses; a test process may run several apps. */
class BlobsRuntime {
  readonly service: BlobService;
  private readonly writeBehind: WriteBehind;
  private redis?: Redis;
  private checked?: Promise<void>;

  constructor(
    private readonly ctx: AppContext,
    options: BlobsModuleOptions,
  ) {
    this.writeBehind = new WriteBehind(this.openFastTier(), ctx.blobs, ctx.queue, { ...options, log: ctx.log });
    this.service = new BlobService(ctx.blobs, ctx.config.blobs.writeBehind ? this.writeBehind : null);
  }

  /** SQL unless Redis is asked for, or configured and nothing is asked for. */
  private openFastTier(): FastTier {
    const { config } = this.ctx;
    const tier = config.blobs.fastTier ?? (config.redisUrl ? 'redis' : 'sql');
    if (tier === 'sql') return new SqlFastTier(this.ctx.database);
    this.redis = createRedisClient(config, { kind: 'command', name: 'workyard-blobs' });
    return new RedisFastTier(this.redis, { prefix: config.redisPrefix, timeoutMs: config.dependencyTimeoutMs });
  }

  /** With write-behind on, a Redis fast tier must persist what it holds: checked once, before serving. */
  ready(): Promise<void> {
    this.checked ??= this.ctx.config.blobs.writeBehind && this.writeBehind.tier instanceof RedisFastTier ? this.writeBehind.tier.checkPersistence(this.ctx.log) : Promise.resolve();
    return this.checked;
  }

  registerJobs(): void {
    // Uploads run even with write-behind off, so that entries left from when it was on drain.
    this.ctx.queue.process<UploadJobData, { outcome: string }>(UPLOAD_JOB, async (job) => ({ outcome: await this.writeBehind.upload(job.data.key, job.data.version) }), { concurrency: 8 });
    if (this.ctx.config.blobs.writeBehind) this.writeBehind.startSweeper();
  }

  /** For tests: queue what the sweeper would queue, now. */
  sweep(): Promise<number> {
    return this.writeBehind.sweep();
  }

  async close(): Promise<void> {
    await this.writeBehind.close();
    if (this.redis) await closeRedisClient(this.redis);
  }
}

export function createBlobsModule(options: BlobsModuleOptions = {}): WorkyardModule & { runtimeOf(ctx: AppContext): BlobsRuntime } {
  const runtimes = new WeakMap<AppContext, BlobsRuntime>();
  const runtimeOf = (ctx: AppContext) => {
    let runtime = runtimes.get(ctx);
    if (!runtime) runtimes.set(ctx, (runtime = new BlobsRuntime(ctx, options)));
    return runtime;
  };
  return {
    name: 'blobs',
    migrations: fastTierMigrations,
    runtimeOf,
    async routes(app, ctx) {
      const runtime = runtimeOf(ctx);
      await runtime.ready();
      await nativeBlobRoutes(app, ctx, runtime.service);
      compatBlobRoutes(app, runtime.service);
    },
    jobs(_queue, ctx) {
      runtimeOf(ctx).registerJobs();
    },
    async close(ctx) {
      await runtimes.get(ctx)?.close();
      runtimes.delete(ctx);
    },
  };
}

export const blobsModule = createBlobsModule();
