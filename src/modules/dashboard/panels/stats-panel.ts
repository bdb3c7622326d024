// The request statistics: the most requested paths, with the totals they are part of.
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

/** What the panel needs of the request counters (src/infra/counters). */
export interface RequestCounters {
  top(options: { limit: number; offset: number }): Promise<{ total: number; unique: number; entries: { key: string; count: number }[] }>;
}

export async function readTopPaths(counters: RequestCounters): Promise<TopPaths> {
  const page = await counters.top({ limit: TOP_PATHS, offset: 0 });
  return { total: page.total, unique: page.unique, paths: page.entries.map((e) => ({ path: e.key, count: e.count })) };
}
