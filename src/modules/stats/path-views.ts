// Views of the counts that the stores cannot rank by themselves — paths folded by route pattern,
// only those under a prefix, probes left out — are made by walking the ranked counts in pages
// and re-ranking what they fold into. The walk is bounded: past MAX_WALKED_PATHS distinct paths
// the answer says it is `partial` (the most counted paths come first, so what is left is the tail).
import type { CounterPage, Counters, TimeRange } from '../../infra/counters/contract.js';
import { PROBE_PATHS, type RouteFolder } from './route-pattern.js';

export const MAX_WALKED_PATHS = 200_000;
const PAGE = 10_000;

export interface PathView {
  fold?: RouteFolder;
  prefix?: string;
  excludeProbes?: boolean;
}

export function isPlainView(view: PathView): boolean {
  return !view.fold && view.prefix === undefined && !view.excludeProbes;
}

export async function viewPage(counters: Counters, options: { limit: number; offset: number; range?: TimeRange }, view: PathView): Promise<CounterPage & { partial: boolean }> {
  const counts = new Map<string, number>();
  let walked = 0;
  let partial = false;
  for (;;) {
    const page = await counters.top({ limit: PAGE, offset: walked, range: options.range });
    for (const { key, count } of page.entries) {
      if (view.prefix !== undefined && !key.startsWith(view.prefix)) continue;
      if (view.excludeProbes && PROBE_PATHS.has(key)) continue;
      const shown = view.fold ? view.fold(key) : key;
      counts.set(shown, (counts.get(shown) ?? 0) + count);
    }
    walked += page.entries.length;
    if (page.entries.length < PAGE) break;
    if (walked >= MAX_WALKED_PATHS) {
      partial = true;
      break;
    }
  }
  const ranked = [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    total: ranked.reduce((sum, e) => sum + e.count, 0),
    unique: ranked.length,
    entries: ranked.slice(options.offset, options.offset + options.limit),
    partial,
  };
}
