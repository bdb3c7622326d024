// The request statistics: the most requested paths, with the totals they are part of, and the
// requests per hour of the last day.
import type { Counters } from '../../../infra/counters/contract.js';

export const TOP_PATHS = 20;

export interface PathCount {
  path: string;
  count: number;
}

/** What the request panel shows: all-time top paths (the default) or those of a recent range. */
export const STATS_RANGES = ['all', '24h', '7d', '30d'] as const;
export type StatsRange = (typeof STATS_RANGES)[number];

export interface TopPaths {
  /** every request counted (in the range) */
  total: number;
  /** distinct paths counted (in the range) */
  unique: number;
  /** the most requested first */
  paths: PathCount[];
  /** requests of every path per bucket over the chart's span, oldest first (zero-filled) */
  hourly: { start: number; count: number }[];
  /** the range of `paths`; the chart spans the last 24 hours for `all` */
  range: StatsRange;
  /** the chart's bucket: hour, or day over 30 days */
  unit: 'hour' | 'day';
}

const HOUR_MS = 3_600_000;
const SPANS: Record<StatsRange, { ms: number; unit: 'hour' | 'day' }> = {
  all: { ms: 24 * HOUR_MS, unit: 'hour' },
  '24h': { ms: 24 * HOUR_MS, unit: 'hour' },
  '7d': { ms: 7 * 24 * HOUR_MS, unit: 'hour' },
  '30d': { ms: 30 * 24 * HOUR_MS, unit: 'day' },
};

export async function readTopPaths(counters: Pick<Counters, 'top' | 'series'>, now = Date.now(), range: StatsRange = 'all'): Promise<TopPaths> {
  const span = SPANS[range];
  const window = { from: now - span.ms, to: now, open: true };
  const [page, points] = await Promise.all([
    counters.top({ limit: TOP_PATHS, offset: 0, ...(range === 'all' ? {} : { range: window }) }),
    counters.series({ unit: span.unit, range: window }),
  ]);
  return {
    total: page.total,
    unique: page.unique,
    paths: page.entries.map((e) => ({ path: e.key, count: e.count })),
    hourly: points.map((p) => ({ start: p.start, count: p.count })),
    range,
    unit: span.unit,
  };
}
