// The per-group limits a worker declares for one job name (WorkerOptions.groupConcurrency and
// groupRate), checked once at process(); both drivers enforce them in their backend, not here.
import type { WorkerOptions } from './contract.js';

export interface GroupLimits {
  /** at most this many jobs of one group active at once, across processes; null: no limit */
  concurrency: number | null;
  /** at most `max` starts per group in any `windowMs`, across processes; null: no limit */
  rate: { max: number; windowMs: number } | null;
}

const wholeAtLeastOne = (value: number) => Number.isInteger(value) && value >= 1;

/** The limits of these options, or null when they set none (the name's jobs are never gated). */
export function groupLimitsOf(options: WorkerOptions): GroupLimits | null {
  const { groupConcurrency, groupRate } = options;
  if (groupConcurrency !== undefined && !wholeAtLeastOne(groupConcurrency)) throw new RangeError('groupConcurrency must be a whole number ≥ 1');
  if (groupRate !== undefined && !(wholeAtLeastOne(groupRate.max) && wholeAtLeastOne(groupRate.windowMs))) {
    throw new RangeError('groupRate needs max and windowMs, whole numbers ≥ 1');
  }
  if (groupConcurrency === undefined && groupRate === undefined) return null;
  return { concurrency: groupConcurrency ?? null, rate: groupRate ? { max: groupRate.max, windowMs: groupRate.windowMs } : null };
}
