// Time buckets: every increment is also counted in its minute, its hour and its day (UTC, aligned
// to the epoch, so that every process and both drivers agree on the bucket starts). All three are
// written in the same batch as the all-time count — the views of one span agree by construction,
// and no roll-up job can count a bucket twice or lose one when it is interrupted.
export type BucketUnit = 'minute' | 'hour' | 'day';

export const BUCKET_MS: Record<BucketUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const UNITS: BucketUnit[] = ['minute', 'hour', 'day'];
/** one letter per unit in stored keys and rows */
export const UNIT_CODE: Record<BucketUnit, 'm' | 'h' | 'd'> = { minute: 'm', hour: 'h', day: 'd' };
/**
 * Requests of bots are counted twice in buckets: with everything, and again in buckets of their
 * own (upper-case units), so that "without bots" is a view — raw minus bots — and never a loss.
 */
export const BOT_UNIT_CODE: Record<BucketUnit, 'M' | 'H' | 'D'> = { minute: 'M', hour: 'H', day: 'D' };

export function unitCode(unit: BucketUnit, bots = false): string {
  return bots ? BOT_UNIT_CODE[unit] : UNIT_CODE[unit];
}

/** How long buckets are kept after they end (day buckets: forever unless configured). */
export interface BucketRetention {
  minuteMs: number;
  hourMs: number;
  /** undefined: forever */
  dayMs?: number;
}

export const DEFAULT_RETENTION: BucketRetention = { minuteMs: 48 * 3_600_000, hourMs: 90 * 86_400_000 };

export function retentionMs(retention: BucketRetention, unit: BucketUnit): number | undefined {
  return unit === 'minute' ? retention.minuteMs : unit === 'hour' ? retention.hourMs : retention.dayMs;
}

export function bucketStart(at: number, unit: BucketUnit): number {
  return at - (((at % BUCKET_MS[unit]) + BUCKET_MS[unit]) % BUCKET_MS[unit]);
}

/** A run of whole buckets of one unit: starts from `from` (inclusive) to `to` (exclusive). */
export interface BucketSpan {
  unit: BucketUnit;
  from: number;
  to: number;
}

/**
 * The fewest buckets that cover [from, to) exactly, once each: whole days in the middle, whole
 * hours beside them, minutes at the ragged edges. The range is first widened to whole minutes (the
 * finest bucket): a range ending now includes the minute under way. A range older than the minute or hour retention is answered from
 * what is kept: its finer edges are simply gone.
 */
export function coverRange(from: number, to: number, open = false): BucketSpan[] {
  const start = bucketStart(from, 'minute');
  const end = ceilTo(to, 'minute');
  if (!open) return coverMinutes(start, end);
  // nothing is counted past the end yet: of the ends that read the same counts, the one of fewest buckets
  let best: BucketSpan[] | null = null;
  for (const at of [end, ceilTo(end, 'hour'), ceilTo(end, 'day')]) {
    const spans = coverMinutes(start, at);
    if (!best || bucketCount(spans) < bucketCount(best)) best = spans;
  }
  return best!;
}

function bucketCount(spans: BucketSpan[]): number {
  return spans.reduce((n, span) => n + (span.to - span.from) / BUCKET_MS[span.unit], 0);
}

/** [start, end), both whole minutes. */
function coverMinutes(start: number, end: number): BucketSpan[] {
  if (end <= start) return [];
  const spans: BucketSpan[] = [];
  const dayFrom = ceilTo(start, 'day');
  const dayTo = bucketStart(end, 'day');
  if (dayFrom < dayTo) {
    spans.push(...edges(start, dayFrom, 'hour'), { unit: 'day', from: dayFrom, to: dayTo }, ...edges(dayTo, end, 'hour'));
  } else spans.push(...edges(start, end, 'hour'));
  return spans.filter((span) => span.from < span.to);
}

/** [from, to) as whole hours in the middle and minutes at the edges. */
function edges(from: number, to: number, unit: 'hour'): BucketSpan[] {
  const hourFrom = ceilTo(from, unit);
  const hourTo = bucketStart(to, unit);
  if (hourFrom >= hourTo) return [{ unit: 'minute', from, to }];
  return [
    { unit: 'minute', from, to: hourFrom },
    { unit, from: hourFrom, to: hourTo },
    { unit: 'minute', from: hourTo, to },
  ];
}

function ceilTo(at: number, unit: BucketUnit): number {
  const start = bucketStart(at, unit);
  return start === at ? at : start + BUCKET_MS[unit];
}

/** Every bucket start of one span, oldest first. */
export function startsOf(span: BucketSpan): number[] {
  const starts = [];
  for (let at = span.from; at < span.to; at += BUCKET_MS[span.unit]) starts.push(at);
  return starts;
}

/** The starts of every bucket of `unit` that overlaps [from, to), oldest first. */
export function seriesStarts(unit: BucketUnit, from: number, to: number): number[] {
  return startsOf({ unit, from: bucketStart(from, unit), to });
}

/** The UTC day of an instant, as salts are named: "2026-12-05". */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}
