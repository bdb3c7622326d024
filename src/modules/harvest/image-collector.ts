// The dedupe rules, carried over from the seed: for each image a task finds,
//   stored before            → link it, no download;
//   failed before            → try it again;
//   being fetched by another → wait for that task, then link its outcome;
//   never seen               → fetch it.
// Who fetches is decided by the database, not by this process: the unique source key lets one
// INSERT win, and a conditional UPDATE hands a failed or abandoned image to exactly one claimer,
// so two workers on two machines still download each image once. Bytes are stored once per sha256,
// in packs with the other images whose downloads finished at the same time (image-packs.ts).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from '../../infra/blobstore/contract.js';
import type { Database } from '../../infra/db/database.js';
import { newRowId } from '../../infra/ids.js';
import { TickBatch, batchedLookup } from '../../infra/tick-batch.js';
import { HarvestError } from './errors.js';
import { type DownloadedImage, type ImageDownloader, NOT_MODIFIED } from './image-downloader.js';
import { ImagePacks } from './image-packs.js';
import { DownloadSlots } from './download-slots.js';
import * as store from './store.js';
import { type ImageFilters, filteredOut, hasFilters } from './image-filters.js';
import { BudgetTracker, type TaskBudget } from './task-budget.js';

export interface ImageCollectorOptions {
  database: Database<store.HarvestTables>;
  blobs: BlobStore;
  downloader: ImageDownloader;
  /** downloads one task runs at once (the per-host limit applies on top) */
  concurrency: number;
  /** bytes of downloaded images one task may hold while they wait for their pack (default 64 MiB) */
  maxBytesInHand?: number;
  /** how long a claim holds before another task may take the image over */
  claimLeaseMs: number;
  /** deadline of one blob put (a pack of images) */
  blobPutTimeoutMs: number;
  /** first pause while waiting for another task's download (it doubles up to 1 s) */
  waitPollMs: number;
}

export interface CollectOutcome {
  stored: number;
  failed: number;
  /** the first MAX_FAILURES_TOLD failed images, as "<url>: <reason>", for the job's log */
  failures: string[];
}

const MAX_FAILURES_TOLD = 5;
// Images a task may have in hand per download slot: downloaded, waiting for their pack.
const IMAGES_IN_HAND_PER_DOWNLOAD = 4;
const MAX_BYTES_IN_HAND = 64 * 1024 * 1024;

interface Found {
  url: string;
  key: string;
  position: number;
}

export class ImageCollector {
  // The downloads of a task (and of every task of this worker) finish close together: their
  // look-ups share one SELECT and their records one transaction, rather than three statements and
  // three commits per image queued behind SQLite's one writer (bench/RESULTS.md, harvest).
  private readonly storedBlobs: ReturnType<typeof batchedLookup<true>>;
  private readonly completions: TickBatch<store.ImageCompletion>;
  private readonly packs: ImagePacks;

  constructor(private readonly options: ImageCollectorOptions) {
    const { database } = options;
    this.packs = new ImagePacks({ blobs: options.blobs, putTimeoutMs: options.blobPutTimeoutMs });
    this.storedBlobs = batchedLookup(async (sha256s) => {
      const stored = await database.run((db) => store.storedBlobs(db, sha256s));
      return new Map([...stored].map((sha256) => [sha256, true as const]));
    });
    this.completions = new TickBatch(async (completions) => {
      await database.run((db) => store.completeImages(db, completions));
      return completions.map(() => undefined);
    }, { maxBatch: 200, maxInFlight: database.dialect === 'sqlite' ? 1 : 4 });
  }

  /**
   * `maxAgeMs`: a stored image fetched longer ago than this is asked for again (conditionally).
   * `origin.pageOf`: the page each URL was found on; `origin.startedAt`: when the budget's time began.
   */
  async collect(taskId: string, urls: string[], signal: AbortSignal, filters?: ImageFilters, budget?: TaskBudget, maxAgeMs?: number, origin?: { pageOf?: Map<string, string>; startedAt?: number }): Promise<CollectOutcome> {
    const { database } = this.options;
    const tracker = new BudgetTracker(budget, origin?.startedAt);
    const found: Found[] = [...new Set(urls)].map((url, position) => ({ url, key: createHash('sha256').update(url).digest('hex'), position }));
    const byKey = new Map(found.map((f) => [f.key, f]));
    const links = new Map<string, store.ImageLink>();
    const positionOf = new Map<string, number>();
    const settle = (imageId: string, error: string | null) => links.set(imageId, { image_id: imageId, position: positionOf.get(imageId)!, error });

    // Never seen: one multi-row INSERT claims them all; the unique key decides races.
    const now = Date.now();
    const fresh = found.map((f) => ({ id: newRowId(), source_key: f.key, source_url: f.url }));
    const inserted = await database.run((db) => store.insertClaimedImages(db, taskId, fresh, now, now + this.options.claimLeaseMs));
    const owned: store.StoredImageRow[] = [];
    for (const image of fresh) {
      if (inserted.has(image.id)) owned.push({ ...image, status: 'running', claimed_by: taskId, lease_until: null, sha256: null, content_type: null, size: null, error: null, updated_at: now });
    }
    const existing = await database.run((db) => store.imagesWhere(db, 'source_key', found.filter((f) => !inserted.has(fresh[f.position].id)).map((f) => f.key)));
    for (const image of [...owned, ...existing]) positionOf.set(image.id, byKey.get(image.source_key)!.position);

    let pending = existing;
    let pause = this.options.waitPollMs;
    // Stale stored images are re-fetched once by this task: those it re-fetched (or saw re-fetched) are fresh.
    const staleBefore = maxAgeMs === undefined ? null : Date.now() - maxAgeMs;
    const refreshing = new Set<string>();
    while (true) {
      const waiting: string[] = [];
      const claimable: string[] = [];
      const stale: string[] = [];
      for (const image of pending) {
        if (image.status === 'done' && staleBefore !== null && Number(image.updated_at) < staleBefore && !links.has(image.id)) stale.push(image.id);
        else if (image.status === 'done') settle(image.id, null);
        else if (image.status === 'failed' && links.has(image.id)) settle(image.id, image.error); // failed while we waited
        else if (image.status === 'failed' || isAbandoned(image, taskId)) claimable.push(image.id);
        else waiting.push(image.id);
      }
      if (claimable.length) {
        const t = Date.now();
        const claimed = await database.run((db) => store.claimImages(db, taskId, claimable, t, t + this.options.claimLeaseMs));
        for (const image of pending) if (claimed.has(image.id)) owned.push(image);
        // Another task claimed the rest first: wait for it like for any running image.
        for (const id of claimable) if (!claimed.has(id)) waiting.push(id);
      }
      if (stale.length) {
        const t = Date.now();
        const claimed = await database.run((db) => store.claimStaleImages(db, taskId, stale, staleBefore!, t, t + this.options.claimLeaseMs));
        for (const image of pending) {
          if (!claimed.has(image.id)) continue;
          refreshing.add(image.id);
          owned.push(image);
        }
        // another task is re-fetching the rest: wait for its outcome
        for (const id of stale) if (!claimed.has(id)) waiting.push(id);
      }
      await this.downloadAll(taskId, owned.splice(0), settle, signal, tracker, refreshing);
      if (!waiting.length) break;
      const over = tracker.exceeded();
      if (over) {
        // Out of time: what other tasks are still fetching is not waited for.
        for (const id of waiting) settle(id, over);
        break;
      }
      // Remember that these were running for someone else: if they fail, that is their outcome for us too.
      for (const id of waiting) if (!links.has(id)) links.set(id, { image_id: id, position: positionOf.get(id)!, error: 'waiting' });
      await sleep(pause, undefined, { signal }).catch(() => {
        throw new HarvestError('aborted', 'the worker stopped while waiting for another task');
      });
      pause = Math.min(pause * 2, 1_000);
      pending = await database.run((db) => store.imagesWhere(db, 'id', waiting));
    }

    const all = [...links.values()];
    if (hasFilters(filters)) {
      const stored = await database.run((db) => store.imagesWhere(db, 'id', all.filter((link) => link.error === null).map((link) => link.image_id)));
      const byId = new Map(stored.map((image) => [image.id, image]));
      for (const link of all) if (link.error === null) link.error = filteredOut(byId.get(link.image_id) ?? {}, filters);
    }
    const pageOf = origin?.pageOf;
    if (pageOf) for (const link of all) link.page_url = pageOf.get(found[link.position].url) ?? null;
    await database.run((db) => store.linkImages(db, taskId, all));
    const failedLinks = all.filter((link) => link.error !== null);
    const failures = failedLinks.slice(0, MAX_FAILURES_TOLD).map((link) => `${found[link.position].url}: ${link.error}`);
    return { stored: all.length - failedLinks.length, failed: failedLinks.length, failures };
  }

  private async downloadAll(taskId: string, images: store.StoredImageRow[], settle: (id: string, error: string | null) => void, signal: AbortSignal, tracker: BudgetTracker, refreshing: Set<string>): Promise<void> {
    const { concurrency, maxBytesInHand = MAX_BYTES_IN_HAND } = this.options;
    const slots = new DownloadSlots(concurrency, maxBytesInHand);
    let next = 0;
    const worker = async () => {
      while (next < images.length) {
        const image = images[next++];
        if (refreshing.has(image.id)) {
          settle(image.id, await this.refresh(taskId, image, signal, tracker, slots));
          continue;
        }
        const over = tracker.exceeded();
        if (over) {
          // The claim is released: another task (with a budget left) fetches it.
          await this.options.database.run((db) => store.failImage(db, { id: image.id, taskId, error: over, now: Date.now() }));
          settle(image.id, over);
          continue;
        }
        settle(image.id, await this.fetchAndStore(taskId, image, signal, tracker, slots));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency * IMAGES_IN_HAND_PER_DOWNLOAD, images.length) }, worker));
  }

  /**
   * Asks again for a stored image, with the validators of its version: a 304 keeps it (fresh from
   * now), new bytes replace it, and a failure (or a spent budget) leaves the stored version standing.
   */
  private async refresh(taskId: string, image: store.StoredImageRow, signal: AbortSignal, tracker: BudgetTracker, slots: DownloadSlots): Promise<null> {
    const { database } = this.options;
    let fetched: Awaited<ReturnType<ImageDownloader['refresh']>>;
    try {
      fetched = await slots.download(() => this.options.downloader.refresh(image.source_url, { etag: image.etag ?? undefined, lastModified: image.last_modified ?? undefined }, signal, () => tracker.exceeded()));
    } catch (error) {
      await database.run((db) => store.releaseRefresh(db, { id: image.id, taskId, confirmedAt: null }));
      if (error instanceof HarvestError && error.failure !== 'aborted') return null;
      throw error;
    }
    if (fetched === NOT_MODIFIED) {
      await database.run((db) => store.releaseRefresh(db, { id: image.id, taskId, confirmedAt: Date.now() }));
      return null;
    }
    tracker.spend(fetched.bytes.length);
    try {
      await this.completions.add({ image: { id: image.id, taskId, ...completion(fetched) }, blob: await this.storeBytes(fetched) });
    } catch (error) {
      await database.run((db) => store.releaseRefresh(db, { id: image.id, taskId, confirmedAt: null })).catch(() => {});
      throw error;
    } finally {
      slots.release(fetched.bytes.length);
    }
    return null;
  }

  /** Returns null when stored, the reason when not; throws only when the database or blob store is down. */
  private async fetchAndStore(taskId: string, image: store.ImageRow, signal: AbortSignal, tracker: BudgetTracker, slots: DownloadSlots): Promise<string | null> {
    const { database } = this.options;
    let downloaded: DownloadedImage;
    try {
      downloaded = await slots.download(() => this.options.downloader.download(image.source_url, signal, () => tracker.exceeded()));
    } catch (error) {
      if (!(error instanceof HarvestError)) throw error;
      await database.run((db) => store.failImage(db, { id: image.id, taskId, error: error.message, now: Date.now() }));
      // A worker shutting down is not the image's fault: the task stops (and the claim is released).
      if (error.failure === 'aborted') throw error;
      return error.message;
    }
    tracker.spend(downloaded.bytes.length);
    try {
      await this.completions.add({ image: { id: image.id, taskId, ...completion(downloaded) }, blob: await this.storeBytes(downloaded) });
      return null;
    } catch (error) {
      // Release the claim so that a later task tries again rather than waiting out the lease.
      await database.run((db) => store.failImage(db, { id: image.id, taskId, error: 'could not be stored', now: Date.now() })).catch(() => {});
      throw error;
    } finally {
      slots.release(downloaded.bytes.length);
    }
  }

  /** Stores the bytes unless bytes of the same digest are stored; the row to record once they are. */
  private async storeBytes(image: DownloadedImage): Promise<store.BlobRecord | undefined> {
    if (await this.storedBlobs.get(image.sha256)) return undefined;
    // No lock: two workers storing the same bytes at once each write a copy, and the first row
    // recorded for the digest is the one read (the other copy is never read).
    const { blobKey, offset } = await this.packs.store(image.sha256, image.bytes);
    return { sha256: image.sha256, blobKey, offset, size: image.bytes.length, contentType: image.contentType, now: Date.now() };
  }
}

/** What a finished download records of an image. */
const completion = (image: DownloadedImage) => ({
  sha256: image.sha256,
  contentType: image.contentType,
  size: image.bytes.length,
  width: image.width,
  height: image.height,
  format: image.format,
  etag: image.validators?.etag,
  lastModified: image.validators?.lastModified,
  now: Date.now(),
});

function isAbandoned(image: store.ImageRow, taskId: string): boolean {
  return image.status === 'running' && (image.claimed_by === taskId || image.claimed_by === null || (image.lease_until ?? 0) < Date.now());
}
