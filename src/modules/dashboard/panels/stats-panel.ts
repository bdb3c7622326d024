// The request statistics: the most requested paths, with the totals they are part of.
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
}

export async function readTopPaths(counters: Pick<Counters, 'top'>): Promise<TopPaths> {
  const page = await counters.top({ limit: TOP_PATHS, offset: 0 });
  return { total: page.total, unique: page.unique, paths: page.entries.map((e) => ({ path: e.key, count: e.count })) };
}
