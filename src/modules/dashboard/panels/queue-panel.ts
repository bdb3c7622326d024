// Per job name: how many jobs wait, run, completed and failed, whether it is paused, the share of
// finished runs that completed, and how many complete per minute (from the change in counts while
// someone watches).
import type { JobCounts, QueueOverview } from '../../../infra/queue/contract.js';

export interface QueueRow {
  name: string;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** no new run starts on any worker while paused */
  paused: boolean;
  /** completed ÷ (completed + failed), null before any job of this name finished */
  completionRate: number | null;
  /** completions per minute over the last minute, null until two samples some seconds apart */
  completedPerMinute: number | null;
}

const WINDOW_MS = 60_000;
const MIN_SPAN_MS = 5_000;

/** Remembers recent completed counts to turn them into a rate; one per app, fed by each read. */
export class CompletionRateTracker {
  private samples: { at: number; completed: Map<string, number> }[] = [];

  record(counts: JobCounts, at = Date.now()): void {
    this.samples.push({ at, completed: new Map(Object.entries(counts).map(([name, c]) => [name, c.completed])) });
    // Keep one sample older than the window, so the rate always spans (about) a full minute.
    while (this.samples.length > 2 && this.samples[1].at <= at - WINDOW_MS) this.samples.shift();
  }

  perMinute(name: string): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || first === last || last.at - first.at < MIN_SPAN_MS) return null;
    const delta = (last.completed.get(name) ?? 0) - (first.completed.get(name) ?? 0);
    // Counts fall when old jobs are removed (retention): no honest rate can be told then.
    if (delta < 0) return null;
    return (delta * 60_000) / (last.at - first.at);
  }
}

export function queueRows(overview: QueueOverview[], tracker: CompletionRateTracker): QueueRow[] {
  tracker.record(Object.fromEntries(overview.map((q) => [q.name, q.counts])));
  return [...overview]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(({ name, counts: c, paused }) => {
      const finished = c.completed + c.failed;
      return {
        name,
        // delayed jobs wait too, for their time rather than for a worker
        waiting: c.queued + c.delayed,
        active: c.active,
        completed: c.completed,
        failed: c.failed,
        cancelled: c.cancelled,
        paused,
        completionRate: finished === 0 ? null : c.completed / finished,
        completedPerMinute: tracker.perMinute(name),
      };
    });
}
