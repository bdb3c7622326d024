// Views of the counts that the stores cannot rank by themselves — paths folded by route pattern,
// only those under a prefix, probes left out — are made by walking the ranked counts in pages
// and re-ranking what they fold into. The walk is bounded: past MAX_WALKED_PATHS distinct paths
// the answer says it is `partial` (the most counted paths come first, so what is left is the tail).
import type { CounterPage, Counters, TimeRange } from '../../infra/counters/contract.js';
import { PROBE_PATHS, type RouteFolder } from './route-pattern.js';

export const MAX_WALKED_PATHS = 200_000;
/** A folded row's visitors are the union of this many of its paths at most, its most counted. */
export const MAX_UNION_PATHS = 1_000;
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

/** `members`: with a fold, the paths of each row of the page (its most counted first, at most MAX_UNION_PATHS). */
export async function viewPage(counters: Counters, options: { limit: number; offset: number; range?: TimeRange }, view: PathView): Promise<CounterPage & { partial: boolean; members?: Map<string, string[]> }> {
  const counts = new Map<string, number>();
  const members = new Map<string, string[]>();
  const add = (key: string, count: number) => {
    if (view.prefix !== undefined && !key.startsWith(view.prefix)) return;
    if (view.excludeProbes && PROBE_PATHS.has(key)) return;
    const shown = view.fold ? view.fold(key) : key;
    counts.set(shown, (counts.get(shown) ?? 0) + count);
    if (!view.fold || count <= 0) return;
    // the walk is ranked: the first paths a row meets are its most counted
    const paths = members.get(shown);
    if (!paths) members.set(shown, [key]);
    else if (paths.length < MAX_UNION_PATHS) paths.push(key);
  };
  let partial = await walk(counters, options.range, false, add);
  if (view.excludeBots) partial = (await walk(counters, options.range, true, (key, count) => add(key, -count))) || partial;
  for (const [key, count] of counts) if (count <= 0) counts.delete(key);
  const ranked = [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const entries = ranked.slice(options.offset, options.offset + options.limit);
  return {
    total: ranked.reduce((sum, e) => sum + e.count, 0),
    unique: ranked.length,
    entries,
    partial,
    ...(view.fold ? { members: new Map(entries.map((entry) => [entry.key, members.get(entry.key) ?? []])) } : {}),
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
