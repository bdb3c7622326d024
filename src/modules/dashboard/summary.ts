// Everything the dashboard shows, read once for every viewer: a read is shared by all the pages
// open at the time (and reused for up to maxAgeMs), so ten open dashboards cost one set of queries.
import type { AppContext } from '../../app-context.js';
import type { JobRecord } from '../../infra/queue/contract.js';
import { type BlobTotals, readBlobTotals } from './panels/blobs-panel.js';
import { readFailedTasks } from './panels/failed-panel.js';
import { type Panel, readPanel } from './panels/panel.js';
import { CompletionRateTracker, type QueueRow, queueRows } from './panels/queue-panel.js';
import { type TopPaths, readTopPaths } from './panels/stats-panel.js';
import { readRecentTasks } from './panels/tasks-panel.js';

export interface DashboardSummary {
  /** when it was read (epoch ms) */
  at: number;
  queues: Panel<QueueRow[]>;
  tasks: Panel<JobRecord[]>;
  /** the latest failed tasks, newest first */
  failed: Panel<JobRecord[]>;
  stats: Panel<TopPaths>;
  blobs: Panel<BlobTotals>;
}

/**
 * Blob totals without a driver's stats() come from a listing: that is not asked for every second
 * (an S3 listing is billed), and blob totals need not be as fresh as job counts.
 */
const BLOB_TOTALS_MAX_AGE_MS = { fromStats: 2_000, fromListing: 5_000 };

export class DashboardData {
  private latest: { startedAt: number; summary: Promise<DashboardSummary> } | null = null;
  private readonly rates = new CompletionRateTracker();
  private blobTotals: { readAt: number; panel: Promise<Panel<BlobTotals>> } | null = null;

  constructor(private readonly ctx: AppContext) {}

  /** A summary read at most maxAgeMs ago (or being read now). */
  read(maxAgeMs = 1000): Promise<DashboardSummary> {
    const now = Date.now();
    if (this.latest && now - this.latest.startedAt <= maxAgeMs) return this.latest.summary;
    const summary = this.readNow();
    this.latest = { startedAt: now, summary };
    return summary;
  }

  /** The next read asks the sources again (after an action changed them). */
  forget(): void {
    this.latest = null;
  }

  private async readNow(): Promise<DashboardSummary> {
    const { ctx } = this;
    const deadline = ctx.config.dependencyTimeoutMs;
    const queuesAndTasks = (async () => {
      // The overview holds the counts and whether each name is paused: one read for the queue panel.
      const overview = await readPanel('the job queue', deadline, () => ctx.queue.overview());
      // A queue that did not answer for its overview is not asked again for its tasks.
      if (!overview.available) return { queues: overview, tasks: overview, failed: overview };
      const queues: Panel<QueueRow[]> = { available: true, data: queueRows(overview.data, this.rates) };
      const [tasks, failed] = await Promise.all([
        readPanel('the job queue', deadline, () => readRecentTasks(ctx.queue, overview.data.map((q) => q.name))),
        readPanel('the job queue', deadline, () => readFailedTasks(ctx.queue)),
      ]);
      return { queues, tasks, failed };
    })();
    const [{ queues, tasks, failed }, stats, blobTotals] = await Promise.all([
      queuesAndTasks,
      readPanel('the request counters', deadline, () => readTopPaths(ctx.counters)),
      this.readBlobTotals(deadline),
    ]);
    return { at: Date.now(), queues, tasks, failed, stats, blobs: blobTotals };
  }

  private readBlobTotals(deadline: number): Promise<Panel<BlobTotals>> {
    const { blobs } = this.ctx;
    const maxAge = blobs.stats ? BLOB_TOTALS_MAX_AGE_MS.fromStats : BLOB_TOTALS_MAX_AGE_MS.fromListing;
    const now = Date.now();
    if (this.blobTotals && now - this.blobTotals.readAt <= maxAge) return this.blobTotals.panel;
    const panel = readPanel('the blob store', deadline, () => readBlobTotals(blobs));
    this.blobTotals = { readAt: now, panel };
    return panel;
  }
}
