// The fast tier of write-behind: small objects kept durably (SQL table, or Redis with an append-
// only file) from the moment a put is acknowledged until a job has uploaded them to the store.
//
// Each key has at most one pending entry, the latest version put. An upload holds a lease on the
// key (token + expiry), and only one upload of a key runs at a time, so uploads of one key reach
// the store in the order they were put: an older version can never land after a newer one. A put
// that replaces an entry keeps the lease, so the replacing version waits for the upload in flight.
export interface PendingMeta {
  key: string;
  /** one per put; the upload job names the version it was queued for */
  version: string;
  size: number;
  etag: string;
  contentType: string;
  metadata?: Record<string, string>;
  /** epoch milliseconds */
  lastModified: number;
}

export interface PendingEntry extends PendingMeta {
  bytes: Buffer;
}

export type ClaimResult =
  /** the lease is ours: upload these bytes, then finish() */
  | { outcome: 'claimed'; entry: PendingEntry }
  /** another upload of this key holds the lease */
  | { outcome: 'busy' }
  /** no entry of that version: uploaded already, or replaced by a newer put */
  | { outcome: 'gone' };

/** Holds no resource of its own: the Redis client it is given is closed by whoever opened it. */
export interface FastTier {
  /** the driver: sql-sqlite, sql-postgres or redis */
  readonly name: string;
  /**
   * Refuses, before the first put, a store that would lose acknowledged entries on a restart
   * (a Redis without an append-only file); logs what it cannot check.
   */
  checkPersistence(log?: { warn(obj: object, msg: string): void }): Promise<void>;
  /** Stores (or replaces) the key's entry durably; `sweepAt` is when the sweeper may queue it again. */
  put(entry: PendingEntry, sweepAt: number): Promise<void>;
  get(key: string): Promise<PendingEntry | null>;
  head(key: string): Promise<PendingMeta | null>;
  /** Takes the key's upload lease, for `version` or (null) whatever version is there. */
  claim(key: string, version: string | null, token: string, leaseUntil: number, now: number): Promise<ClaimResult>;
  /** After a successful upload: removes the entry if it is still that version, and frees the lease. */
  finish(key: string, version: string, token: string): Promise<void>;
  /** After a failed upload: frees the lease so that a retry can take it at once. */
  release(key: string, token: string): Promise<void>;
  /** Removes the key's entry unless an upload holds its lease. */
  deleteIfFree(key: string, now: number): Promise<'deleted' | 'none' | 'busy'>;
  /** Entries in byte order of their keys, after the cursor, under the prefix. */
  list(options: { prefix: string; cursor?: string; limit: number }): Promise<PendingMeta[]>;
  /**
   * Entries whose sweep time has come and that no upload holds: each is pushed to `nextSweepAt`
   * and returned once, so several sweeping processes queue it once.
   */
  takeDueForSweep(now: number, nextSweepAt: number, limit: number): Promise<{ key: string; version: string }[]>;
}
