// The request counters contract: a count per key (the stats module counts URL paths). Two drivers
// pass one conformance suite (counters.conformance.ts): embedded (SQL) and Redis (a sorted set
// shared by every API process). Increments are buffered; reads see this process's buffered
// increments, other processes' within their flush interval.

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

export interface Counters {
  readonly driver: 'embedded' | 'redis';
  /** Adds one to the key. Synchronous and cheap: it runs on every request; the write happens later. */
  increment(key: string): void;
  top(options: { limit: number; offset: number }): Promise<CounterPage>;
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
