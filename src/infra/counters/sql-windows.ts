// The embedded driver's ranked windows (ranked-windows.ts) in SQL: one row per window and key,
// ranked by an index, folded from the hour buckets an hour at a time.
//
// A window's rows carry a generation, named by the window's mark. A build writes a new generation
// a slice of keys at a time (each slice a short statement: on SQLite the process, API included,
// never stops for the whole 30-day sum) and then points the mark at it in one transaction; readers
// see the old window or the new one, and two builders never write into each other's rows. The
// generation the mark left is deleted a slice at a time a minute later (a reader that took the old
// mark just before has finished with it); a build that died half way is deleted an hour after it
// started. A fold, too, goes a slice of keys a transaction, the mark saying how far (fold()).
import { randomInt } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { chunksOf } from '../db/chunks.js';
import { pacedTurns } from '../db/paced-turns.js';
import { BUCKET_MS, UNIT_CODE, coverRange, startsOf, unitCode } from './buckets.js';
import type { BucketTables } from './bucket-store.js';
import type { CounterEntry } from './contract.js';
import { type RankedWindowReader, type WindowMark, rollUpWindows } from './ranked-windows.js';

export type WindowTables = BucketTables & {
  counters_windows: { generation: number; key: string; count: number };
  counters_window_marks: { hours: number; generation: number; folded_to: number; keys: number; fold_after: string | null };
  /** generations no mark names: being built, or left by a build; deleted once `drop_after` has passed */
  counters_window_generations: { generation: number; drop_after: number };
};

/** `foldAfter`: while the hour `foldedTo` is being folded, the last key folded (else null) */
export type SqlWindowMark = WindowMark & { generation: number; keys: number; foldAfter: string | null };

const HOUR = BUCKET_MS.hour;
const HOUR_CODE = UNIT_CODE.hour;
/** keys of an hour a fold adds per statement, and rows deleted per statement: a few milliseconds on SQLite */
const BUILD_SLICE = 1_000;
/** a build's statement sums this many times the slice in rows, shared between the buckets it reads */
const BUILD_ROWS_PER_SLICE = 4;
/** a build is over long before this; its generation is then a dead build's */
const BUILD_LIFETIME_MS = 3_600_000;
/** how long a generation the mark left stays readable */
const DROP_DELAY_MS = 60_000;

export class SqlWindows {
  constructor(
    private readonly db: Kysely<WindowTables>,
    private readonly slice = BUILD_SLICE,
  ) {}

  async marks(): Promise<SqlWindowMark[]> {
    const rows = await this.db.selectFrom('counters_window_marks').selectAll().execute();
    return rows.map((row) => ({ hours: Number(row.hours), generation: Number(row.generation), foldedTo: Number(row.folded_to), keys: Number(row.keys), foldAfter: row.fold_after }));
  }

  /** Brings each window up to the last hour closed at `now`; the hours folded (a build counts as one). */
  async rollUp(windows: number[], now: number): Promise<number> {
    await this.dropGenerations(now);
    return rollUpWindows(windows, await this.marks(), now, { build: (hours, target) => this.build(hours, target, now), fold: (hours, at) => this.fold(hours, at) });
  }

  reader(mark: SqlWindowMark): RankedWindowReader {
    const ranked = () => this.db.selectFrom('counters_windows').select(['key', 'count']).where('generation', '=', mark.generation);
    return {
      page: async (offset, limit) => entriesOf(await ranked().orderBy('count', 'desc').orderBy('key', 'asc').limit(limit).offset(offset).execute()),
      countsOf: async (keysWanted) => {
        const counts = new Map<string, number>();
        for (const chunk of chunksOf(keysWanted)) for (const row of await ranked().where('key', 'in', chunk).execute()) counts.set(row.key, Number(row.count));
        return counts;
      },
      size: async () => mark.keys,
    };
  }

  async clear(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('counters_windows').execute();
      await trx.deleteFrom('counters_window_marks').execute();
      await trx.deleteFrom('counters_window_generations').execute();
    });
  }

  /**
   * The window afresh: the sum per key of the buckets that cover it (whole days, hours at the
   * ends), as a range is read without a window, into a generation of its own, a slice of keys at a
   * time: each slice ends at the key where one of the buckets reaches its share of the statement's
   * rows, so that no statement sums more than that share of any bucket.
   */
  private async build(hours: number, target: number, now: number): Promise<void> {
    const generation = Date.now() * 1_000 + randomInt(1_000);
    await this.db.insertInto('counters_window_generations').values({ generation, drop_after: now + BUILD_LIFETIME_MS }).execute();
    const buckets = coverRange(target - hours * HOUR, target).flatMap((span) => startsOf(span).map((start) => ({ unit: unitCode(span.unit), start })));
    const byUnit = new Map<string, number[]>();
    for (const bucket of buckets) byUnit.set(bucket.unit, [...(byUnit.get(bucket.unit) ?? []), bucket.start]);
    let keys = 0;
    let after: string | null = null;
    // a statement sums at most BUILD_ROWS_PER_SLICE × slice rows over all the buckets: 1,000 keys of
    // each of 22 hours was 22,000 rows, 25 ms of the event loop
    const perBucket = Math.max(1, Math.floor((BUILD_ROWS_PER_SLICE * this.slice) / buckets.length));
    const nextTurn = pacedTurns();
    for (;;) {
      let upTo: string | null = null;
      for (const bucket of buckets) {
        const row = await this.db
          .selectFrom('counters_buckets')
          .select('key')
          .where('unit', '=', bucket.unit)
          .where('start', '=', bucket.start)
          .$if(after !== null, (q) => q.where('key', '>', after!))
          .orderBy('key')
          .limit(1)
          .offset(perBucket - 1)
          .executeTakeFirst();
        if (row && (upTo === null || row.key < upTo)) upTo = row.key;
      }
      // per unit, one statement adding its buckets' sums: the starts of one unit are an IN list
      // the primary key is walked with (an OR over both units would not bound each by the slice)
      for (const [unit, starts] of byUnit) {
        await this.db
          .insertInto('counters_windows')
          .columns(['generation', 'key', 'count'])
          .expression(
            this.db
              .selectFrom('counters_buckets')
              .select((eb) => [sql.lit(generation).as('generation'), 'key', eb.fn.sum<number>('count').as('count')])
              .where('unit', '=', unit)
              .where('start', 'in', starts)
              .$if(after !== null, (q) => q.where('key', '>', after!))
              .$if(upTo !== null, (q) => q.where('key', '<=', upTo!))
              .groupBy('key'),
          )
          .onConflict((oc) => oc.columns(['generation', 'key']).doUpdateSet({ count: sql`counters_windows.count + excluded.count` }))
          .execute();
      }
      const slice = await this.db
        .selectFrom('counters_windows')
        .select((eb) => eb.fn.countAll<number>().as('keys'))
        .where('generation', '=', generation)
        .$if(after !== null, (q) => q.where('key', '>', after!))
        .$if(upTo !== null, (q) => q.where('key', '<=', upTo!))
        .executeTakeFirstOrThrow();
      keys += Number(slice.keys);
      // better-sqlite3 answers at once: without a turn of the event loop here, awaiting the
      // statements one after the other would still hold the process for the whole build
      await nextTurn();
      if (upTo === null) break;
      after = upTo;
    }
    await this.db.transaction().execute(async (trx) => {
      const previous = await trx.selectFrom('counters_window_marks').select('generation').where('hours', '=', hours).executeTakeFirst();
      await trx
        .insertInto('counters_window_marks')
        .values({ hours, generation, folded_to: target, keys, fold_after: null })
        .onConflict((oc) => oc.column('hours').doUpdateSet({ generation, folded_to: target, keys, fold_after: null }))
        .execute();
      await trx.deleteFrom('counters_window_generations').where('generation', '=', generation).execute();
      if (previous) await trx.insertInto('counters_window_generations').values({ generation: Number(previous.generation), drop_after: now + DROP_DELAY_MS }).execute();
    });
  }

  /** Deletes, a slice at a time, the generations no mark names whose time has passed. */
  private async dropGenerations(now: number): Promise<void> {
    const due = await this.db.selectFrom('counters_window_generations').select('generation').where('drop_after', '<', now).execute();
    const nextTurn = pacedTurns();
    for (const { generation } of due) {
      for (;;) {
        const slice = this.db.selectFrom('counters_windows').select('key').where('generation', '=', generation).limit(this.slice);
        const deleted = await this.db.deleteFrom('counters_windows').where('generation', '=', generation).where('key', 'in', slice).executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0) break;
        await nextTurn();
      }
      await this.db.deleteFrom('counters_window_generations').where('generation', '=', generation).execute();
    }
  }

  /**
   * Adds the hour starting at `at` and takes off the one that left the window, a slice of keys a
   * transaction with a rest between (paced-turns.ts): one transaction for a busy hour (tens of
   * thousands of paths) committed in one piece, and the commit held the embedded process for as
   * long as it took to write its pages. Each slice first moves the mark's cursor (`fold_after`)
   * from where the slice starts to where it ends, the last one moves `folded_to` to the next hour:
   * a second folder finds the cursor moved and folds nothing (false), a folder that died leaves the
   * cursor where the next one resumes, and readers know which keys are folded (foldUnderWay). The
   * window's key count is kept by what each slice adds and removes.
   */
  private async fold(hours: number, at: number): Promise<boolean> {
    const mark = await this.db.selectFrom('counters_window_marks').select('fold_after').where('hours', '=', hours).where('folded_to', '=', at).executeTakeFirst();
    if (!mark) return false;
    let after = mark.fold_after;
    const nextTurn = pacedTurns();
    for (;;) {
      const folded = await this.db.transaction().execute(async (trx) => {
        const hourKeys = (start: number) =>
          trx
            .selectFrom('counters_buckets')
            .select('key')
            .where('unit', '=', HOUR_CODE)
            .where('start', '=', start)
            .$if(after !== null, (q) => q.where('key', '>', after!));
        // the slice ends where either hour reaches `slice` keys
        let upTo: string | null = null;
        for (const start of [at, at - hours * HOUR]) {
          const boundary = await hourKeys(start).orderBy('key').limit(1).offset(this.slice - 1).executeTakeFirst();
          if (boundary && (upTo === null || boundary.key < upTo)) upTo = boundary.key;
        }
        const moved = await trx
          .updateTable('counters_window_marks')
          .set(upTo === null ? { folded_to: at + HOUR, fold_after: null } : { fold_after: upTo })
          .where('hours', '=', hours)
          .where('folded_to', '=', at)
          .where((eb) => (after === null ? eb('fold_after', 'is', null) : eb('fold_after', '=', after)))
          .returning(['generation', 'keys'])
          .executeTakeFirst();
        if (!moved) return undefined;
        const generation = Number(moved.generation);
        let keys = Number(moved.keys);
        const inSlice = (start: number) => hourKeys(start).$if(upTo !== null, (q) => q.where('key', '<=', upTo!));
        // keys of the hour the window has not yet: they are new to it
        const known = await trx
          .selectFrom('counters_windows')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('generation', '=', generation)
          .where('key', 'in', inSlice(at))
          .executeTakeFirstOrThrow();
        const all = await inSlice(at)
          .clearSelect()
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        keys += Number(all.n) - Number(known.n);
        for (const [start, sign] of [[at, 1], [at - hours * HOUR, -1]] as const) {
          await trx
            .insertInto('counters_windows')
            .columns(['generation', 'key', 'count'])
            .expression(
              inSlice(start)
                .clearSelect()
                .select([sql.lit(generation).as('generation'), 'key', sign === 1 ? 'count' : sql<number>`0 - count`.as('count')]),
            )
            .onConflict((oc) => oc.columns(['generation', 'key']).doUpdateSet({ count: sql`counters_windows.count + excluded.count` }))
            .execute();
        }
        const gone = await trx
          .deleteFrom('counters_windows')
          .where('generation', '=', generation)
          .where('count', '<=', 0)
          .$if(after !== null, (q) => q.where('key', '>', after!))
          .$if(upTo !== null, (q) => q.where('key', '<=', upTo!))
          .executeTakeFirst();
        keys -= Number(gone.numDeletedRows);
        await trx.updateTable('counters_window_marks').set({ keys }).where('hours', '=', hours).execute();
        return { upTo };
      });
      if (!folded) return false;
      // better-sqlite3 answers at once: the turn (and a rest as long as the slice) is what lets the API in between slices
      await nextTurn();
      if (folded.upTo === null) return true;
      after = folded.upTo;
    }
  }

  /**
   * While a fold of the hour `foldedTo` is under way, the keys up to the mark's cursor already
   * hold that hour and no longer the one that left: per such key, what the window's reader must
   * add to the window's count to have [foldedTo − hours, foldedTo) again. Empty when no fold is under way.
   */
  async foldUnderWay(mark: SqlWindowMark): Promise<Map<string, number>> {
    const corrections = new Map<string, number>();
    if (mark.foldAfter === null) return corrections;
    for (const [start, sign] of [[mark.foldedTo, -1], [mark.foldedTo - mark.hours * HOUR, 1]] as const) {
      const rows = await this.db.selectFrom('counters_buckets').select(['key', 'count']).where('unit', '=', HOUR_CODE).where('start', '=', start).where('key', '<=', mark.foldAfter).execute();
      for (const row of rows) corrections.set(row.key, (corrections.get(row.key) ?? 0) + sign * Number(row.count));
    }
    return corrections;
  }

}

function entriesOf(rows: { key: string; count: number }[]): CounterEntry[] {
  return rows.map((row) => ({ key: row.key, count: Number(row.count) }));
}
