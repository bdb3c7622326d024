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
  /** subtract bots' requests (needs a range: only buckets count bots apart) */
  excludeBots?: boolean;
}

export function isPlainView(view: PathView): boolean {
  return !view.fold && view.prefix === undefined && !view.excludeProbes && !view.excludeBots;
}

export async function viewPage(counters: Counters, options: { limit: number; offset: number; range?: TimeRange }, view: PathView): Promise<CounterPage & { partial: boolean }> {
  const counts = new Map<string, number>();
  const add = (key: string, count: number) => {
    if (view.prefix !== undefined && !key.startsWith(view.prefix)) return;
    if (view.excludeProbes && PROBE_PATHS.has(key)) return;
    const shown = view.fold ? view.fold(key) : key;
    counts.set(shown, (counts.get(shown) ?? 0) + count);
  };
  let partial = await walk(counters, options.range, false, add);
  if (view.excludeBots) partial = (await walk(counters, options.range, true, (key, count) => add(key, -count))) || partial;
  for (const [key, count] of counts) if (count <= 0) counts.delete(key);
  const ranked = [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    total: ranked.reduce((sum, e) => sum + e.count, 0),
    unique: ranked.length,
    entries: ranked.slice(options.offset, options.offset + options.limit),
    partial,
  };
}

/** Walks the ranked counts (of bots only, with `bots`); true when it stopped at MAX_WALKED_PATHS. */
async function walk(counters: Counters, range: TimeRange | undefined, bots: boolean, each: (key: string, count: number) => void): Promise<boolean> {
  for (let walked = 0; walked < MAX_WALKED_PATHS; ) {
    const page = await counters.top({ limit: PAGE, offset: walked, range, bots });
    for (const { key, count } of page.entries) each(key, count);
    walked += page.entries.length;
    if (page.entries.length < PAGE) return false;
  }
  return true;
}
