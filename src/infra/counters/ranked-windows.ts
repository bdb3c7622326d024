// Ranked windows: per key, the sum of the last N closed hours, kept ranked by a scheduled job
// (stats.rollup), so that "top paths of the last 7 days" reads the head of one ranked list instead
// of summing 7 × 24 buckets of every path at every request (a union of millions of rows).
//
// A window of N hours folded to hour T holds [T − N h, T). The job folds each closed hour once:
// it adds the hour that closed and takes off the hour that left the window (hour buckets are kept
// 90 days, longer than any window). A range that ends now is then the window plus two small edges
// read from the buckets as before — the part of the range before the window (under 3 hours) and
// the hours since T — so the answer is the same as the buckets' own, by construction.
//
// Windows are N = 22, 166 and 718 hours: 24 h, 7 d and 30 d less two hours, so that a range of
// -24h, -7d or -30d still starts before its window when the job is an hour late.
import { BUCKET_MS, bucketStart } from './buckets.js';
import type { CounterEntry, CounterPage, TimeRange } from './contract.js';

export const WINDOW_HOURS = [22, 166, 718] as const;
/** An hour is folded once it closed this long ago: increments buffered in API processes have landed by then. */
export const FOLD_DELAY_MS = 5 * 60_000;
/** The most of a range left to each side of a window for the buckets to answer. */
const MAX_EDGE_MS = 3 * BUCKET_MS.hour;
const HOUR = BUCKET_MS.hour;

export interface WindowMark {
  hours: number;
  /** the window holds [foldedTo − hours, foldedTo) */
  foldedTo: number;
}

/** The last hour start a window may be folded to at `now`. */
export function foldTarget(now: number): number {
  return bucketStart(now - FOLD_DELAY_MS, 'hour');
}

/** The windows to keep: those no longer than the day buckets' retention (else the buckets' answer would have less). */
export function windowsKept(dayRetentionMs: number | undefined): number[] {
  return WINDOW_HOURS.filter((hours) => dayRetentionMs === undefined || hours * HOUR <= dayRetentionMs);
}

export type FoldPlan = { build: true } | { build: false; hours: number[] };

/**
 * How to bring a window to `target`: fold each closed hour in turn, or build it afresh from the
 * hour buckets when it has none yet or is further behind than its own length.
 */
export function foldPlan(hours: number, foldedTo: number | null, target: number): FoldPlan | null {
  if (foldedTo !== null && foldedTo >= target) return null;
  if (foldedTo === null || target - foldedTo >= hours * HOUR) return { build: true };
  const steps = [];
  for (let at = foldedTo; at < target; at += HOUR) steps.push(at);
  return { build: false, hours: steps };
}

/**
 * Brings each window up to the last hour closed at `now`, by the driver's `build` (afresh, to a
 * target) and `fold` (one hour; false when another folder did it first). Returns the hours folded
 * (a build counts as one).
 */
export async function rollUpWindows(
  windows: number[],
  marks: WindowMark[],
  now: number,
  steps: { build(hours: number, target: number): Promise<void>; fold(hours: number, at: number): Promise<boolean> },
): Promise<number> {
  const target = foldTarget(now);
  const foldedTo = new Map(marks.map((mark) => [mark.hours, mark.foldedTo]));
  let folded = 0;
  for (const hours of windows) {
    const plan = foldPlan(hours, foldedTo.get(hours) ?? null, target);
    if (!plan) continue;
    if (plan.build) {
      await steps.build(hours, target);
      folded++;
      continue;
    }
    for (const at of plan.hours) if (await steps.fold(hours, at)) folded++;
  }
  return folded;
}

export interface WindowUse {
  hours: number;
  /** the parts of the range outside the window, answered by the buckets */
  edges: TimeRange[];
}

/** The longest window that serves the range (widened to whole minutes), or null. */
export function windowFor(range: TimeRange, marks: WindowMark[]): WindowUse | null {
  const from = bucketStart(range.from, 'minute');
  const to = Math.ceil(range.to / BUCKET_MS.minute) * BUCKET_MS.minute;
  let best: WindowUse | null = null;
  for (const mark of marks) {
    const start = mark.foldedTo - mark.hours * HOUR;
    const fits = start >= from && start - from <= MAX_EDGE_MS && mark.foldedTo <= to && to - mark.foldedTo <= MAX_EDGE_MS;
    if (fits && (!best || mark.hours > best.hours)) best = { hours: mark.hours, edges: [{ from, to: start }, { from: mark.foldedTo, to, open: range.open }].filter((edge) => edge.from < edge.to) };
  }
  return best;
}

export interface RankedWindowReader {
  /**
   * the window's entries from `offset`, most counted first, ties by key ascending; rankWindow reads
   * pages after countsOf and size (the Redis driver checks on the last page that no fold moved on)
   */
  page(offset: number, limit: number): Promise<CounterEntry[]>;
  /** the window's counts of these keys (absent: not in the window) */
  countsOf(keys: string[]): Promise<Map<string, number>>;
  /** how many keys the window holds */
  size(): Promise<number>;
}

const before = (a: CounterEntry, b: CounterEntry) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * One page of the window plus the edges' counts, exact. The edges' keys are counted in full;
 * the window is then read from its head until every entry not yet read must rank after the
 * page: an unread key outside the edges has at most the count of the last entry read, and ties
 * come in key order, so once `offset + limit` candidates rank at or before that entry, the rest
 * cannot enter the page.
 */
export async function rankWindow(window: RankedWindowReader, edges: Map<string, number>, limit: number, offset: number, total: number): Promise<CounterPage> {
  const need = offset + limit;
  const inWindow = await window.countsOf([...edges.keys()]);
  const size = await window.size();
  // an edge may take a key's count to nothing (a fold under way, sql-windows.ts): it is then not in the range
  let unique = size;
  const candidates: CounterEntry[] = [];
  for (const [key, count] of edges) {
    const entry = { key, count: count + (inWindow.get(key) ?? 0) };
    if (entry.count > 0) candidates.push(entry);
    if (entry.count > 0 && !inWindow.has(key)) unique++;
    if (entry.count <= 0 && inWindow.has(key)) unique--;
  }
  // one read usually suffices: of `need` + edges entries, at most the edges' are skipped. Not a
  // fixed 1,000: ten times the entries a first page needs, each parsed and sorted per request
  const chunk = Math.max(need, Math.min(need + edges.size, 1_000));
  for (let read = 0; read < size; ) {
    const page = await window.page(read, chunk);
    read += page.length;
    for (const entry of page) if (!edges.has(entry.key)) candidates.push(entry);
    const last = page.at(-1);
    if (!last || page.length < chunk) break;
    let atOrBefore = 0;
    for (const candidate of candidates) if (before(candidate, last) <= 0) atOrBefore++;
    if (atOrBefore >= need) break;
  }
  candidates.sort(before);
  return { total, unique, entries: candidates.slice(offset, need) };
}
