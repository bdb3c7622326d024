// The visitors of a range are the union of the HyperLogLogs of the buckets that cover it. Most of
// those buckets are settled: they ended FOLD_DELAY_MS ago, and increments buffered in API processes
// have landed in them, so their union per key never changes. The embedded driver keeps that union
// (the registers, merged) per key in memory, and a read merges only the registers of the buckets
// still open. Without it, a -7d page of 100 paths with real visitors re-read ~400,000 register
// rows per request (bench:stats-windows: 4.5 req/s with 10 clients, the process held ~250 ms a
// request). An entry is named by the settled buckets and their total count, so a reset or a prune
// (by any process) makes it unused; it is dropped after MERGED_TTL_MS or when the LRU is full.
import { BUCKET_MS, type BucketSpan } from './buckets.js';
import { HLL_REGISTERS, estimate } from './hyperloglog.js';
import { FOLD_DELAY_MS } from './ranked-windows.js';

/** how long a key's merged settled visitors are kept (Redis: the merged HLL's lifetime) */
export const MERGED_TTL_MS = 60 * 60_000;
/** entries kept: 16 KiB of registers each (a few pages of 100 paths over three ranges) */
const MERGED_ENTRIES = 1_024;
/** below this many settled buckets, reading them all costs about what merging would */
export const MERGED_MIN_BUCKETS = 3;

/** A bucket is settled once it ended FOLD_DELAY_MS before `now`: nothing lands in it any more. */
export function settledBefore(now: number): number {
  return now - FOLD_DELAY_MS;
}

/** The spans split at the last bucket that ended FOLD_DELAY_MS before `now`. */
export function splitSettled(spans: BucketSpan[], now: number): { settled: BucketSpan[]; open: BucketSpan[]; settledBuckets: number } {
  const before = settledBefore(now);
  const settled: BucketSpan[] = [];
  const open: BucketSpan[] = [];
  let settledBuckets = 0;
  for (const span of spans) {
    const size = BUCKET_MS[span.unit];
    const closed = Math.max(0, Math.min((span.to - span.from) / size, Math.floor((before - span.from) / size)));
    const split = span.from + closed * size;
    if (closed > 0) settled.push({ ...span, to: split });
    if (split < span.to) open.push({ ...span, from: split });
    settledBuckets += closed;
  }
  return { settled, open, settledBuckets };
}

export interface MergedRegisters {
  /** the highest rank per register, 0 where no visitor fell */
  ranks: Uint8Array | null;
  touched: number;
  /** the sum of 2^-rank over the touched registers */
  inverse: number;
}

const EMPTY: MergedRegisters = { ranks: null, touched: 0, inverse: 0 };

export function mergedOf(rows: Iterable<{ reg: number; rho: number }>): MergedRegisters {
  let ranks: Uint8Array | null = null;
  for (const { reg, rho } of rows) {
    ranks ??= new Uint8Array(HLL_REGISTERS);
    if (rho > ranks[reg]) ranks[reg] = rho;
  }
  if (!ranks) return EMPTY;
  let touched = 0;
  let inverse = 0;
  for (const rank of ranks) {
    if (rank === 0) continue;
    touched++;
    inverse += 2 ** -rank;
  }
  return { ranks, touched, inverse };
}

/** The estimate of the settled registers with the open buckets' registers (per register, the highest rank). */
export function estimateWith(merged: MergedRegisters, open: Iterable<{ reg: number; rho: number }>): number {
  let { touched, inverse } = merged;
  const ranks = merged.ranks;
  const seen = new Map<number, number>();
  for (const { reg, rho } of open) {
    const current = seen.get(reg) ?? ranks?.[reg] ?? 0;
    if (rho <= current) continue;
    if (current === 0) touched++;
    else inverse -= 2 ** -current;
    inverse += 2 ** -rho;
    seen.set(reg, rho);
  }
  return estimate(touched, inverse);
}

export class SettledVisitorsCache {
  private readonly entries = new Map<string, { merged: MergedRegisters; until: number }>();

  get(id: string, key: string, now: number): MergedRegisters | undefined {
    const name = `${id}\t${key}`;
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    this.entries.delete(name);
    if (entry.until <= now) return undefined;
    this.entries.set(name, entry); // most recently used last
    return entry.merged;
  }

  set(id: string, key: string, merged: MergedRegisters, now: number): void {
    const name = `${id}\t${key}`;
    this.entries.delete(name);
    this.entries.set(name, { merged, until: now + MERGED_TTL_MS });
    while (this.entries.size > MERGED_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A name for the settled spans of a range: two ranges over the same settled buckets share entries. */
export function settledId(spans: BucketSpan[]): string {
  return spans.map((span) => `${span.unit}:${span.from}-${span.to}`).join(',');
}
