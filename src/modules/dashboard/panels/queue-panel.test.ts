import { describe, expect, it } from 'vitest';
import type { JobCounts, QueueOverview } from '../../../infra/queue/contract.js';
import { CompletionRateTracker, queueRows } from './queue-panel.js';

const counts = (completed: number, failed = 0): JobCounts => ({ sum: { queued: 2, delayed: 0, active: 1, completed, failed, cancelled: 0 } });
const overview = (completed: number, failed = 0, paused = false): QueueOverview[] => [
  { name: 'sum', counts: counts(completed, failed).sum, paused, oldestWaitingMs: null, waitMs: null, completionsPerMinute: 0 },
];

describe('queue rows', () => {
  it('gives the share of finished runs that completed, null before any finished', () => {
    const tracker = new CompletionRateTracker();
    expect(queueRows(overview(0), tracker)[0]).toMatchObject({ name: 'sum', waiting: 2, active: 1, paused: false, completionRate: null });
    expect(queueRows(overview(3, 1, true), tracker)[0]).toMatchObject({ completionRate: 0.75, paused: true });
  });

  it('measures completions per minute once two samples are some seconds apart', () => {
    const tracker = new CompletionRateTracker();
    tracker.record(counts(100), 0);
    expect(tracker.perMinute('sum')).toBeNull();
    tracker.record(counts(110), 2_000);
    expect(tracker.perMinute('sum')).toBeNull();
    tracker.record(counts(130), 10_000);
    expect(tracker.perMinute('sum')).toBeCloseTo(180);
  });

  it('keeps about one minute of samples', () => {
    const tracker = new CompletionRateTracker();
    // Busy for four minutes (6 000 a minute), then calm (60 a minute): the rate tells the calm.
    for (let t = 0; t <= 300_000; t += 10_000) tracker.record(counts(t <= 240_000 ? t / 10 : 24_000 + (t - 240_000) / 1000), t);
    expect(tracker.perMinute('sum')).toBeCloseTo(60);
  });

  it('tells no rate when counts fall (finished jobs removed by retention)', () => {
    const tracker = new CompletionRateTracker();
    tracker.record(counts(500), 0);
    tracker.record(counts(10), 10_000);
    expect(tracker.perMinute('sum')).toBeNull();
  });
});
