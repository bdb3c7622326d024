// Write-behind: a small put is acknowledged once its bytes are durable in the fast tier, and a
// queued job uploads them to the store. Until then reads are served from the fast tier, so the
// object is readable everywhere at once. A worker that dies mid-upload loses nothing: the entry
// stays until an upload has finished, the job runs again when its lease runs out, and a sweeper
// queues entries whose job has run out of attempts (the store was down longer than the retries).
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { BlobMeta, BlobStore } from '../../infra/blobstore/contract.js';
import { splitStoredFields } from '../../infra/blobstore/stored-fields.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import type { FastTier, PendingEntry, PendingMeta } from '../../infra/fast-tier/contract.js';

export const UPLOAD_JOB = 'blobs.upload';

export interface UploadJobData {
  key: string;
  version: string;
}

export interface WriteBehindOptions {
  /** an upload holds the key this long; it is cut off well before (default 60 s) */
  leaseMs?: number;
  /** a pending entry is queued again by the sweeper after this long (default 60 s) */
  sweepAfterMs?: number;
  /** how often workers sweep (default 30 s) */
  sweepEveryMs?: number;
  log?: FastifyBaseLogger;
}

export const pendingToMeta = (entry: PendingMeta): BlobMeta => ({
  key: entry.key,
  size: entry.size,
  etag: entry.etag,
  contentType: entry.contentType,
  lastModified: new Date(entry.lastModified),
  ...splitStoredFields(entry.metadata),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class WriteBehind {
  private readonly leaseMs: number;
  private readonly sweepAfterMs: number;
  private readonly sweepEveryMs: number;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    readonly tier: FastTier,
    private readonly store: BlobStore,
    private readonly queue: JobQueue,
    private readonly options: WriteBehindOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.sweepAfterMs = options.sweepAfterMs ?? 60_000;
    this.sweepEveryMs = options.sweepEveryMs ?? 30_000;
  }

  /** Acknowledges once the bytes are durable in the fast tier; the upload is queued after. */
  async put(key: string, bytes: Buffer, meta: { etag: string; contentType: string; metadata?: Record<string, string> }): Promise<BlobMeta> {
    const entry: PendingEntry = { key, version: randomUUID(), bytes, size: bytes.length, lastModified: Date.now(), ...meta };
    await this.tier.put(entry, entry.lastModified + this.sweepAfterMs);
    try {
      await this.enqueueUpload(entry.key, entry.version, `blobs.upload.${entry.version}`);
    } catch (error) {
      // The bytes are safe in the fast tier and the sweeper queues their upload later: the put
      // stands, and saying otherwise would make a client retry a write that has happened.
      this.options.log?.warn({ err: error, key }, 'could not queue a blob upload; the sweeper will');
    }
    return pendingToMeta(entry);
  }

  private enqueueUpload(key: string, version: string, jobId: string) {
    return this.queue.enqueue<UploadJobData>(UPLOAD_JOB, { key, version }, { jobId, attempts: 8, backoffMs: 1_000 });
  }

  /** The job: uploads the version it was queued for, unless it is gone or another upload holds the key. */
  async upload(key: string, version: string): Promise<'uploaded' | 'gone'> {
    const token = randomUUID();
    const claim = await this.tier.claim(key, version, token, Date.now() + this.leaseMs, Date.now());
    // Busy: an upload of an older version is in flight; failing lets the queue retry after it.
    if (claim.outcome === 'busy') throw new Error(`another upload of ${key} is in progress; retrying`);
    if (claim.outcome === 'gone') return 'gone';
    await this.uploadClaimed(claim.entry, token);
    return 'uploaded';
  }

  private async uploadClaimed(entry: PendingEntry, token: string): Promise<void> {
    // The upload must end well within its lease: once the lease runs out another upload of the
    // key may start, and two uploads of one key in flight could land in either order.
    const signal = AbortSignal.timeout(this.leaseMs / 2);
    try {
      await this.store.put(entry.key, entry.bytes, { contentType: entry.contentType, contentLength: entry.size, metadata: entry.metadata, signal });
    } catch (error) {
      await this.tier.release(entry.key, token).catch(() => {});
      throw error;
    }
    await this.tier.finish(entry.key, entry.version, token);
  }

  /**
   * Before a put that bypasses the fast tier (too large) or a delete: any entry already pending
   * for the key reaches the store first, or it would land later and undo the newer write.
   */
  async settle(key: string, mode: 'upload' | 'discard'): Promise<boolean> {
    const deadline = Date.now() + this.leaseMs + 5_000;
    let seenVersion: string | null = null;
    for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
      if (mode === 'discard') {
        const outcome = await this.tier.deleteIfFree(key, Date.now());
        if (outcome !== 'busy') return outcome === 'deleted';
      } else {
        const token = randomUUID();
        const claim = await this.tier.claim(key, seenVersion, token, Date.now() + this.leaseMs, Date.now());
        if (claim.outcome === 'gone') return false;
        if (claim.outcome === 'claimed') {
          await this.uploadClaimed(claim.entry, token);
          return true;
        }
        // Busy: remember what was pending, and settle that version (a newer one is a concurrent put).
        seenVersion ??= (await this.tier.head(key))?.version ?? null;
        if (seenVersion === null) return false;
      }
      if (Date.now() > deadline) throw new Error(`the pending upload of ${key} did not finish in time`);
      await sleep(wait);
    }
  }

  /** Queues the upload of entries whose jobs are gone or exhausted; returns how many. */
  async sweep(limit = 200): Promise<number> {
    const now = Date.now();
    // After this first sweep, every few minutes: a store that is down is not hammered.
    const due = await this.tier.takeDueForSweep(now, now + Math.max(this.sweepAfterMs, 5 * 60_000), limit);
    for (const { key, version } of due) await this.enqueueUpload(key, version, `blobs.upload.${version}.${now}`);
    return due.length;
  }

  startSweeper(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((error) => this.options.log?.warn({ err: error }, 'blob upload sweep failed'));
    }, this.sweepEveryMs);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}
