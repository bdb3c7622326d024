// Everything the dashboard shows, read once for every viewer: a read is shared by all the pages
// open at the time (and reused for up to maxAgeMs), so ten open dashboards cost one set of queries.
import type { AppContext } from '../../app-context.js';
import type { BlobStore } from '../../infra/blobstore/contract.js';
import type { JobRecord } from '../../infra/queue/contract.js';
import { type BlobTotals, readBlobTotals } from './panels/blobs-panel.js';
import { type Panel, readPanel, unavailable } from './panels/panel.js';
import { CompletionRateTracker, type QueueRow, queueRows } from './panels/queue-panel.js';
import { type TopPaths, readTopPaths } from './panels/stats-panel.js';
import { readRecentTasks } from './panels/tasks-panel.js';

export interface DashboardSummary {
  /** when it was read (epoch ms) */
  at: number;
  queues: Panel<QueueRow[]>;
  tasks: Panel<JobRecord[]>;
  stats: Panel<TopPaths>;
  blobs: Panel<BlobTotals>;
}

/** The parts of the context that exist only in some installations. */
type OptionalParts = { blobs?: BlobStore };

export class DashboardData {
  private latest: { startedAt: number; summary: Promise<DashboardSummary> } | null = null;
  private readonly rates = new CompletionRateTracker();

  constructor(private readonly ctx: AppContext) {}

  /** A summary read at most maxAgeMs ago (or being read now). */
  read(maxAgeMs = 1000): Promise<DashboardSummary> {
    const now = Date.now();
    if (this.latest && now - this.latest.startedAt <= maxAgeMs) return this.latest.summary;
    const summary = this.readNow();
    this.latest = { startedAt: now, summary };
    return summary;
  }

  private async readNow(): Promise<DashboardSummary> {
    const { ctx } = this;
    const deadline = ctx.config.dependencyTimeoutMs;
    const { blobs } = ctx as AppContext & OptionalParts;
    const queuesAndTasks = (async () => {
      const counts = await readPanel('the job queue', deadline, () => ctx.queue.counts());
      // A queue that did not answer for its counts is not asked again for its tasks.
      if (!counts.available) return { queues: counts, tasks: counts };
      const queues: Panel<QueueRow[]> = { available: true, data: queueRows(counts.data, this.rates) };
      const tasks = await readPanel('the job queue', deadline, () => readRecentTasks(ctx.queue, Object.keys(counts.data)));
      return { queues, tasks };
    })();
    const [{ queues, tasks }, stats, blobTotals] = await Promise.all([
      queuesAndTasks,
      readPanel('the request counters', deadline, () => readTopPaths(ctx.counters)),
      blobs ? readPanel('the blob store', deadline, () => readBlobTotals(blobs)) : unavailable('the blob store is not part of this installation'),
    ]);
    return { at: Date.now(), queues, tasks, stats, blobs: blobTotals };
  }
}
