// The embedded counters driver: counts live in the SQL database (SQLite embedded, PostgreSQL when
// configured), increments in memory until their batch is written (every 25 ms, on reset, on
// shutdown). Memory holds only the increments of one interval, however many distinct keys there
// are; the table's (count desc, key) index keeps a page of the top keys one index walk away; a
// totals row, updated in the same transaction, spares a count(*) over millions of rows. Because
// the database holds the counts, API processes sharing one PostgreSQL share them too.
//
// Time buckets and visitors go through a second buffer (bucket-batch.ts), written by BucketStore.
import type { Kysely } from 'kysely';
import { type Database, withTables } from '../db/database.js';
import { bucketEntryKey, splitBatch, withoutExpired } from './bucket-batch.js';
import { type BucketTables, BucketStore } from './bucket-store.js';
import { type BucketRetention, type BucketUnit, DEFAULT_RETENTION, bucketStart, seriesStarts, utcDay } from './buckets.js';
import { ALL_KEYS, type BucketRow, type CounterPage, type Counters, type SeriesPoint, type TimeRange } from './contract.js';
import { type CountersTables, CounterStore } from './counter-store.js';
import { rankWindow, windowFor, windowsKept } from './ranked-windows.js';
import { SqlWindows, type WindowTables } from './sql-windows.js';
import { type CountersBufferOptions, WriteBehindBuffer, writeInChunks } from './write-behind-buffer.js';

export interface EmbeddedCountersOptions extends CountersBufferOptions {
  retention?: BucketRetention;
}

export class EmbeddedCounters implements Counters {
  readonly driver = 'embedded' as const;
  private readonly store: CounterStore;
  private readonly buffer: WriteBehindBuffer;
  private readonly buckets: BucketStore;
  /** the roll-up's and the prune's: their statements run on `database.background` */
  private readonly backgroundBuckets: BucketStore;
  private readonly windows: SqlWindows;
  private readonly windowsDb: Kysely<WindowTables>;
  private readonly bucketBuffer: WriteBehindBuffer;
  private readonly retention: BucketRetention;

  constructor(
    private readonly database: Database,
    options: EmbeddedCountersOptions = {},
  ) {
    this.store = new CounterStore(withTables<CountersTables>(database).db, database.dialect);
    this.buffer = new WriteBehindBuffer({
      // 25 ms: visible elsewhere within 100 ms with room to spare.
      flushDelayMs: options.flushDelayMs ?? 25,
      log: options.log,
      // 500 keys a statement: SQLite runs on the event loop. No deadline here: a write abandoned
      // by a deadline could still commit, and its retry would count twice. The pool's own
      // timeouts fail it when the database is down.
      write: (batch) => writeInChunks(batch, options.chunkKeys ?? 500, (chunk) => this.store.add(chunk)),
    });
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.buckets = new BucketStore(withTables<BucketTables>(database).db);
    this.backgroundBuckets = new BucketStore(withTables<BucketTables>(database).background);
    this.windowsDb = withTables<WindowTables>(database).db;
    this.windows = new SqlWindows(withTables<WindowTables>(database).background, options.windowSlice);
    this.bucketBuffer = new WriteBehindBuffer({ flushDelayMs: options.flushDelayMs ?? 25, log: options.log, boundKeys: false, write: (batch) => this.writeBuckets(batch) });
  }

  increment(key: string, visitor = '', at = Date.now(), bot = false): void {
    this.buffer.add(key);
    this.bucketBuffer.add(bucketEntryKey(key, visitor, at, bot));
  }

  async top(options: { limit: number; offset: number; range?: TimeRange; bots?: boolean }): Promise<CounterPage> {
    // This process's own increments are part of the answer; a slow database answers 503, while
    // the write it waited for goes on.
    return this.database.run(async () => {
      const { range } = options;
      if (range) {
        await this.bucketBuffer.flush();
        if (!options.bots) {
          const ranked = await this.fromWindow(options.limit, options.offset, range);
          if (ranked) return ranked;
        }
        return this.buckets.top(options.limit, options.offset, range, options.bots);
      }
      await this.buffer.flush();
      return this.store.top(options.limit, options.offset);
    });
  }

  /**
   * A range that ends now, from a ranked window and its edges (ranked-windows.ts); null when no
   * window serves it. Read in one transaction (a snapshot): a fold commits a slice at a time, and
   * the mark, the window and the edges must be of one moment.
   */
  private async fromWindow(limit: number, offset: number, range: TimeRange): Promise<CounterPage | null> {
    return this.windowsDb
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const windows = new SqlWindows(trx);
        // the transaction's Kysely names more tables than the bucket store's: the same connection
        const buckets = new BucketStore(trx as unknown as Kysely<BucketTables>);
        const marks = await windows.marks();
        const use = windowFor(range, marks);
        if (!use) return null;
        const mark = marks.find((candidate) => candidate.hours === use.hours)!;
        const [edges, total, underWay] = await Promise.all([buckets.sumsOver(use.edges), buckets.totalOver(range), windows.foldUnderWay(mark)]);
        // the keys a fold under way has moved on by an hour count as edges, their counts made right
        for (const [key, correction] of underWay) edges.set(key, (edges.get(key) ?? 0) + correction);
        return rankWindow(windows.reader(mark), edges, limit, offset, total);
      });
  }

  /**
   * A job's work, not a request's: a build of a window takes as long as its slices take, so it
   * is bounded by the job (its timeout), not by the dependency deadline of one request.
   */
  async rollUp(now = Date.now()): Promise<number> {
    await this.bucketBuffer.flush();
    return this.windows.rollUp(windowsKept(this.retention.dayMs), now);
  }

  async series(options: { key?: string; unit: BucketUnit; range: TimeRange }): Promise<SeriesPoint[]> {
    const { unit } = options;
    // a series starts with the bucket the range's start falls in
    const range = { from: bucketStart(options.range.from, unit), to: options.range.to };
    return this.database.run(async () => {
      await this.bucketBuffer.flush();
      const [counts, visitors] = await Promise.all([this.buckets.counts(unit, range, options.key), this.buckets.visitorsPerBucket(unit, range, options.key ?? ALL_KEYS)]);
      return seriesStarts(unit, range.from, range.to).map((start) => ({ start, count: counts.get(start) ?? 0, unique_visitors: visitors.get(start) ?? 0 }));
    });
  }

  exportPage(options: { unit: BucketUnit; range: TimeRange; cursor?: string; limit: number }): Promise<{ rows: BucketRow[]; cursor: string | null }> {
    return this.database.run(async () => {
      await this.bucketBuffer.flush();
      return this.buckets.exportPage(options.unit, options.range, options.cursor, options.limit);
    });
  }

  async visitors(keys: string[], range?: TimeRange): Promise<Map<string, number>> {
    return this.database.run(async () => {
      await this.bucketBuffer.flush();
      return this.buckets.visitors(keys, range);
    });
  }

  async unionVisitors(groups: string[][], range?: TimeRange): Promise<number[]> {
    return this.database.run(async () => {
      await this.bucketBuffer.flush();
      return this.buckets.unionVisitors(groups, range);
    });
  }

  /**
   * A job's work, as rollUp: a day of a million paths is a million rows, deleted for tens of
   * seconds a slice at a time; under a request's deadline (800 ms by default) the job failed and
   * was retried while the slices went on.
   */
  prune(now = Date.now()): Promise<number> {
    return this.backgroundBuckets.prune(now, this.retention);
  }

  daySalt(day: string, now = Date.now()): Promise<string> {
    return this.database.run(() => this.buckets.daySalt(day, utcDay(now)));
  }

  reset(): Promise<void> {
    return this.buffer.exclusive(() =>
      this.bucketBuffer.exclusive(async () => {
        this.buffer.clear();
        this.bucketBuffer.clear();
        await this.database.run(async () => {
          await this.store.clear();
          await this.buckets.clear();
          await this.windows.clear();
        });
      }),
    );
  }

  async flush(): Promise<void> {
    await Promise.all([this.buffer.flush(), this.bucketBuffer.flush()]);
  }

  /**
   * Counts first, in one transaction; once they are in, the batch's counts are zeroed, so that a
   * failure while adding visitors retries only the visitors (merging registers twice is harmless,
   * counting twice is not).
   */
  private async writeBuckets(batch: Map<string, number>): Promise<void> {
    const split = withoutExpired(splitBatch(batch), this.retention, Date.now());
    await this.buckets.addCounts(split);
    for (const entry of batch.keys()) batch.set(entry, 0);
    await this.buckets.addVisitors(split.visitors);
    batch.clear();
  }

  ping(): Promise<void> {
    return this.database.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.buffer.close(), this.bucketBuffer.close()]);
  }
}
