// The blobs module: a key → bytes store over ctx.blobs (S3 or local disk), with the native
// streaming routes, the compatible base64 routes, and optional write-behind for small objects.
import path from 'node:path';
import type { App, AppContext, ModuleInstance, WorkyardModule } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { accessMigrations } from './access-migrations.js';
import { BlobAccess } from './blob-access.js';
import { BlobService } from './blob-service.js';
import { ExpiryIndex } from './expiry-index.js';
import { writeMigrations } from './write-migrations.js';
import { FileKeyLocks, type KeyLocks, SqlKeyLocks } from './key-locks.js';
import { linkRoutes } from './link-routes.js';
import { tokenRoutes } from './token-routes.js';
import { compatBlobRoutes } from './routes-compat.js';
import { nativeBlobRoutes } from './routes-native.js';
import { uploadMigrations } from './upload-migrations.js';
import { ResumableUploads, uploadRoutes } from './uploads.js';
import { UPLOAD_JOB, type UploadJobData, WriteBehind, type WriteBehindOptions } from './write-behind.js';

export const EXPIRY_SWEEP_JOB = 'blobs.sweep-expired';
export const EXPIRY_SWEEP_SCHEDULE = 'workyard.blobs.sweep-expired';

/** Where conditional writers of a key take turns: a file on the one machine SQLite implies, else a row in PostgreSQL. */
const keyLocksFor = (ctx: AppContext): KeyLocks => (ctx.database.dialect === 'sqlite' ? new FileKeyLocks(path.join(ctx.config.dataDir, 'locks', 'blobs')) : new SqlKeyLocks(ctx.database));

export type BlobsModuleOptions = Pick<WriteBehindOptions, 'leaseMs' | 'sweepAfterMs' | 'sweepEveryMs'>;

/** One app's blobs: the service the routes use, and the write-behind path its jobs drain. */
export class BlobsInstance implements ModuleInstance {
  readonly service: BlobService;
  /** resumable uploads (tus) at /uploads, landing through `service` */
  readonly uploads: ResumableUploads;
  /** who may read and write (WORKYARD_BLOBS_*_ACCESS) and the signed links */
  readonly access: BlobAccess;
  private readonly writeBehind: WriteBehind;

  constructor(
    private readonly ctx: AppContext,
    options: BlobsModuleOptions,
  ) {
    this.writeBehind = new WriteBehind(ctx.fastTier, ctx.blobs, ctx.queue, { ...options, log: ctx.log });
    this.service = new BlobService(ctx.blobs, ctx.config.blobs.writeBehind ? this.writeBehind : null, keyLocksFor(ctx), new ExpiryIndex(ctx.database));
    this.access = new BlobAccess(ctx);
    this.uploads = new ResumableUploads(ctx, this.service, ctx.uploads, this.access);
  }

  async routes(app: App): Promise<void> {
    // With write-behind on, the fast tier must persist what it holds: checked before serving.
    if (this.ctx.config.blobs.writeBehind) await this.ctx.fastTier.checkPersistence(this.ctx.log);
    await this.access.start();
    await nativeBlobRoutes(app, this.ctx, this.service, this.access);
    compatBlobRoutes(app, this.service, this.access);
    linkRoutes(app, this.ctx, this.access);
    tokenRoutes(app, this.ctx, this.access);
    await this.uploads.store.ready();
    await uploadRoutes(app, this.uploads);
  }

  jobs(queue: JobQueue): void {
    // Uploads run even with write-behind off, so that entries left from when it was on drain.
    queue.process<UploadJobData, { outcome: string }>(UPLOAD_JOB, async (job) => ({ outcome: await this.writeBehind.upload(job.data.key, job.data.version) }), { concurrency: 8 });
    if (this.ctx.config.blobs.writeBehind) this.writeBehind.startSweeper();
    // Expired blobs answer 404 at once; the sweep frees their space, every five minutes on one worker
    // (a queue schedule: it fires once however many workers there are, and shows in /schedules).
    queue.process<Record<string, never>, { removed: number }>(EXPIRY_SWEEP_JOB, async () => ({ removed: await this.service.sweepExpired() }), { concurrency: 1 });
    queue
      .schedule(EXPIRY_SWEEP_SCHEDULE, { cron: '*/5 * * * *', job: { name: EXPIRY_SWEEP_JOB, options: { attempts: 1 } } })
      .catch((error: unknown) => this.ctx.log.warn({ err: error }, 'could not schedule the sweep of expired blobs; a later worker start will'));
    this.uploads.startSweeper();
  }

  async close(): Promise<void> {
    await this.uploads.close();
    await this.writeBehind.close();
  }
}

export function createBlobsModule(options: BlobsModuleOptions = {}): WorkyardModule<BlobsInstance> {
  return { name: 'blobs', migrations: { ...uploadMigrations, ...accessMigrations, ...writeMigrations }, create: (ctx) => new BlobsInstance(ctx, options) };
}

export const blobsModule = createBlobsModule();
