// The time parameters of the stats routes: an instant is RFC 3339 ("2026-12-05T08:00:00+01:00")
// or relative to now ("-24h", "-7d", "-30m", "now"). Errors name the parameter.
import { validationError } from '../../errors.js';
import { BUCKET_MS, type BucketUnit } from '../../infra/counters/buckets.js';
import type { TimeRange } from '../../infra/counters/contract.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const RELATIVE = /^-(\d{1,6})(m|h|d)$/;
const RELATIVE_MS = { m: BUCKET_MS.minute, h: BUCKET_MS.hour, d: BUCKET_MS.day };

/** Parameters described for /docs. */
export const INSTANT_DESCRIPTION = 'RFC 3339 (2026-12-05T08:00:00Z, 2026-12-05T09:00:00+01:00), or relative to now: -30m, -24h, -7d, now';

export function parseInstant(field: string, value: string, now: number): number {
  if (value === 'now') return now;
  const relative = RELATIVE.exec(value);
  if (relative) return now - Number(relative[1]) * RELATIVE_MS[relative[2] as keyof typeof RELATIVE_MS];
  const at = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(at)) throw validationError(field, `${field}: expected ${INSTANT_DESCRIPTION}`);
  return at;
}

/** The range of `from` and `to` (default: now); undefined when neither is given (all-time). */
export function parseRange(query: { from?: string; to?: string }, now: number, defaultFrom?: string): TimeRange | undefined {
  const fromText = query.from ?? defaultFrom;
  if (fromText === undefined) {
    if (query.to !== undefined) throw validationError('from', 'from: needed with to');
    return undefined;
  }
  const from = parseInstant('from', fromText, now);
  const to = query.to === undefined ? now : parseInstant('to', query.to, now);
  if (from >= to) throw validationError('from', 'from: must be before to');
  // a range to now (or later) may be read from whole buckets past its end (TimeRange.open)
  return { from, to, open: to >= now };
}

/** Series are bounded: a minute series of a year would be half a million points. */
export const MAX_POINTS = 10_000;

export function checkPoints(unit: BucketUnit, range: TimeRange): void {
  if ((range.to - range.from) / BUCKET_MS[unit] > MAX_POINTS) {
    throw validationError('interval', `interval: ${unit} buckets over this range are more than ${MAX_POINTS} points; choose a coarser interval or a shorter range`);
  }
}
