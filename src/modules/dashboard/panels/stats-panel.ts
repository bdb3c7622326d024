// The request statistics: the most requested paths, with the totals they are part of, and the
// requests per hour of the last day.
import type { Counters } from '../../../infra/counters/contract.js';

export const TOP_PATHS = 20;

export interface PathCount {
  path: string;
  count: number;
}

export interface TopPaths {
  /** every request counted */
  total: number;
  /** distinct paths counted */
  unique: number;
  /** the most requested first */
  paths: PathCount[];
  /** requests of every path per hour over the last 24 hours, oldest first (zero-filled) */
  hourly: { start: number; count: number }[];
}

const DAY_MS = 24 * 3_600_000;

export async function readTopPaths(counters: Pick<Counters, 'top' | 'series'>, now = Date.now()): Promise<TopPaths> {
  const [page, hourly] = await Promise.all([counters.top({ limit: TOP_PATHS, offset: 0 }), counters.series({ unit: 'hour', range: { from: now - DAY_MS, to: now } })]);
  return {
    total: page.total,
    unique: page.unique,
    paths: page.entries.map((e) => ({ path: e.key, count: e.count })),
    hourly: hourly.map((p) => ({ start: p.start, count: p.count })),
  };
}
