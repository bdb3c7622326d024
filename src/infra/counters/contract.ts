// The request counters contract: a count per key (the stats module counts URL paths). Two drivers
// pass one conformance suite (counters.conformance.ts): embedded (SQL) and Redis (a sorted set
// shared by every API process). Increments are buffered; reads see this process's buffered
// increments, other processes' within their flush interval.
import type { BucketUnit } from './buckets.js';

export interface CounterEntry {
  key: string;
  count: number;
}

export interface CounterPage {
  /** sum of every count */
  total: number;
  /** how many distinct keys have a count */
  unique: number;
  /** highest count first, ties by key ascending (code point order) */
  entries: CounterEntry[];
}

/** [from, to) in epoch milliseconds, widened to whole minutes (the finest bucket). */
export interface TimeRange {
  from: number;
  to: number;
  /**
   * The range ends now: nothing after `to` has been counted yet, so it may be read from buckets
   * that run past it — today's day bucket instead of its hours and minutes. The same counts from
   * a fraction of the keys (a -7d range's visitors: about 30 HyperLogLogs per path instead of 110).
   */
  open?: boolean;
}

export interface SeriesPoint {
  /** the bucket's start, epoch ms */
  start: number;
  count: number;
  unique_visitors: number;
}

export interface BucketRow {
  start: number;
  key: string;
  count: number;
}

/** The key under which every visitor of every key is kept too (no counted path is empty). */
export const ALL_KEYS = '';

export interface Counters {
  readonly driver: 'embedded' | 'redis';
  /**
   * Adds one to the key, to its all-time count and to its minute, hour and day buckets of `at`;
   * a non-empty `visitor` id joins the key's unique visitors; a `bot`'s request is also counted in
   * bot-only buckets (for views without bots). Synchronous and cheap: it runs on
   * every request; the writes happen later, in batches.
   */
  increment(key: string, visitor?: string, at?: number, bot?: boolean): void;
  /** All-time counts, or with `range` the sums of the buckets that cover it (`bots`: of bots' requests only). */
  top(options: { limit: number; offset: number; range?: TimeRange; bots?: boolean }): Promise<CounterPage>;
  /** One point per bucket of `unit` in the range, zero-filled; of one key, or of every key when none. */
  series(options: { key?: string; unit: BucketUnit; range: TimeRange }): Promise<SeriesPoint[]>;
  /** Estimated unique visitors of each key (ALL_KEYS: of every key), all-time or over `range`. */
  visitors(keys: string[], range?: TimeRange): Promise<Map<string, number>>;
  /**
   * Estimated unique visitors of each group of keys: the union of its keys' visitors (a visitor
   * of two of a group's paths counts once), all-time or over `range`. A route pattern's visitors.
   */
  unionVisitors(groups: string[][], range?: TimeRange): Promise<number[]>;
  /**
   * One page of the bucket rows of `unit` in the range, oldest bucket first (the rows of one
   * bucket in no promised order): pass the returned cursor back for the next page; null: done.
   */
  exportPage(options: { unit: BucketUnit; range: TimeRange; cursor?: string; limit: number }): Promise<{ rows: BucketRow[]; cursor: string | null }>;
  /**
   * Folds the hours closed by `now` into the ranked windows (the scheduled stats.rollup job), so
   * that a range of the last 24 h, 7 d or 30 d is read from one ranked list; returns the hours
   * folded. The answers of top() are the same with or without it: only their cost differs.
   */
  rollUp(now?: number): Promise<number>;
  /** Deletes buckets older than their retention (the scheduled stats.prune job); returns how many. */
  prune(now?: number): Promise<number>;
  /**
   * The secret salt of one UTC day ("2026-12-05"), the same for every process on the store: made
   * on first ask; salts of days before `now`'s are deleted, so ids of two days cannot be linked.
   */
  daySalt(day: string, now?: number): Promise<string>;
  /** Removes every count, this process's buffered increments included. */
  reset(): Promise<void>;
  /** Writes this process's buffered increments now. */
  flush(): Promise<void>;
  /** Throws a DependencyUnavailableError when the backing store is down. */
  ping(): Promise<void>;
  /** Final flush, then releases what the driver holds (not the shared database connection). */
  close(): Promise<void>;
}

/**
 * Keys are bounded so that millions of distinct, very long keys cannot exhaust memory or Redis:
 * a key longer than this keeps its first KEY_PREFIX_LENGTH characters, then "…" and a digest of
 * the whole key, so that distinct long keys still count apart.
 */
export const MAX_KEY_LENGTH = 1024;
export const KEY_PREFIX_LENGTH = 1000;
