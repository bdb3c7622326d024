// The blobs module: a key → bytes store over ctx.blobs (S3 or local disk), with the native
// streaming routes, the compatible base64 routes, and optional write-behind for small objects.
import type { Redis } from 'ioredis';
import type { App, AppContext, ModuleInstance, WorkyardModule } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { closeRedisClient, createRedisClient } from '../../infra/redis/connection.js';
import { BlobService } from './blob-service.js';
import type { FastTier } from './fast-tier/contract.js';
import { RedisFastTier } from './fast-tier/redis.js';
import { SqlFastTier, fastTierMigrations } from './fast-tier/sql.js';
import { compatBlobRoutes } from './routes-compat.js';
import { nativeBlobRoutes } from './routes-native.js';
import { UPLOAD_JOB, type UploadJobData, WriteBehind, type WriteBehindOptions } from './write-behind.js';

export type BlobsModuleOptions = Pick<WriteBehindOptions, 'leaseMs' | 'sweepAfterMs' | 'sweepEveryMs'>;

/** One app's blobs: the service the routes use, and the write-behind path its jobs drain. */
export class BlobsInstance implements ModuleInstance {
  readonly service: BlobService;
  private readonly writeBehind: WriteBehind;
  private redis?: Redis;

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

  async routes(app: App): Promise<void> {
    // With write-behind on, a Redis fast tier must persist what it holds: checked before serving.
    if (this.ctx.config.blobs.writeBehind && this.writeBehind.tier instanceof RedisFastTier) await this.writeBehind.tier.checkPersistence(this.ctx.log);
    await nativeBlobRoutes(app, this.ctx, this.service);
    compatBlobRoutes(app, this.service);
  }

  jobs(queue: JobQueue): void {
    // Uploads run even with write-behind off, so that entries left from when it was on drain.
    queue.process<UploadJobData, { outcome: string }>(UPLOAD_JOB, async (job) => ({ outcome: await this.writeBehind.upload(job.data.key, job.data.version) }), { concurrency: 8 });
    if (this.ctx.config.blobs.writeBehind) this.writeBehind.startSweeper();
  }

  async close(): Promise<void> {
    await this.writeBehind.close();
    if (this.redis) await closeRedisClient(this.redis);
  }
}

export function createBlobsModule(options: BlobsModuleOptions = {}): WorkyardModule<BlobsInstance> {
  return { name: 'blobs', migrations: fastTierMigrations, create: (ctx) => new BlobsInstance(ctx, options) };
}

export const blobsModule = createBlobsModule();
