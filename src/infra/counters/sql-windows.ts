// The embedded driver's ranked windows (ranked-windows.ts) in SQL: one row per window and key,
// ranked by an index, folded from the hour buckets an hour at a time.
import { type Kysely, sql } from 'kysely';
import { chunksOf } from '../db/chunks.js';
import { BUCKET_MS, UNIT_CODE } from './buckets.js';
import { type BucketTables, covering } from './bucket-store.js';
import type { CounterEntry } from './contract.js';
import { type RankedWindowReader, type WindowMark, rollUpWindows } from './ranked-windows.js';

export type WindowTables = BucketTables & {
  counters_windows: { hours: number; key: string; count: number };
  counters_window_marks: { hours: number; folded_to: number; keys: number };
};

const HOUR = BUCKET_MS.hour;
const HOUR_CODE = UNIT_CODE.hour;

export class SqlWindows {
  constructor(private readonly db: Kysely<WindowTables>) {}

  async marks(): Promise<(WindowMark & { keys: number })[]> {
    const rows = await this.db.selectFrom('counters_window_marks').selectAll().execute();
    return rows.map((row) => ({ hours: Number(row.hours), foldedTo: Number(row.folded_to), keys: Number(row.keys) }));
  }

  /** Brings each window up to the last hour closed at `now`; the hours folded (a build counts as one). */
  async rollUp(windows: number[], now: number): Promise<number> {
    return rollUpWindows(windows, await this.marks(), now, { build: (hours, target) => this.build(hours, target), fold: (hours, at) => this.fold(hours, at) });
  }

  reader(hours: number, keys: number): RankedWindowReader {
    const ranked = () => this.db.selectFrom('counters_windows').select(['key', 'count']).where('hours', '=', hours);
    return {
      page: async (offset, limit) => entriesOf(await ranked().orderBy('count', 'desc').orderBy('key', 'asc').limit(limit).offset(offset).execute()),
      countsOf: async (keysWanted) => {
        const counts = new Map<string, number>();
        for (const chunk of chunksOf(keysWanted)) for (const row of await ranked().where('key', 'in', chunk).execute()) counts.set(row.key, Number(row.count));
        return counts;
      },
      size: async () => keys,
    };
  }

  async clear(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('counters_windows').execute();
      await trx.deleteFrom('counters_window_marks').execute();
    });
  }

  /** The window afresh: the sum per key of the buckets that cover it (whole days, hours at the ends), as a range is read without a window. */
  private async build(hours: number, to: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('counters_windows').where('hours', '=', hours).execute();
      await trx
        .insertInto('counters_windows')
        .columns(['hours', 'key', 'count'])
        .expression(
          trx
            .selectFrom('counters_buckets')
            .select((eb) => [sql.lit(hours).as('hours'), 'key', eb.fn.sum<number>('count').as('count')])
            .where(covering({ from: to - hours * HOUR, to }))
            .groupBy('key'),
        )
        .execute();
      await this.mark(trx, hours, to);
    });
  }

  /**
   * Adds the hour starting at `at` and takes off the one that left the window, in one transaction
   * that first moves the mark from `at` to the next hour: a second folder of the same hour finds
   * the mark moved and folds nothing (false).
   */
  private async fold(hours: number, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const moved = await trx.updateTable('counters_window_marks').set({ folded_to: at + HOUR }).where('hours', '=', hours).where('folded_to', '=', at).executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) return false;
      for (const [start, sign] of [[at, 1], [at - hours * HOUR, -1]] as const) {
        await trx
          .insertInto('counters_windows')
          .columns(['hours', 'key', 'count'])
          .expression(
            trx
              .selectFrom('counters_buckets')
              .select([sql.lit(hours).as('hours'), 'key', sign === 1 ? 'count' : sql<number>`0 - count`.as('count')])
              .where('unit', '=', HOUR_CODE)
              .where('start', '=', start),
          )
          .onConflict((oc) => oc.columns(['hours', 'key']).doUpdateSet({ count: sql`counters_windows.count + excluded.count` }))
          .execute();
      }
      await trx.deleteFrom('counters_windows').where('hours', '=', hours).where('count', '<=', 0).execute();
      await this.mark(trx, hours, at + HOUR);
      return true;
    });
  }

  private async mark(db: Kysely<WindowTables>, hours: number, foldedTo: number): Promise<void> {
    const row = await db.selectFrom('counters_windows').select((eb) => eb.fn.countAll<number>().as('keys')).where('hours', '=', hours).executeTakeFirstOrThrow();
    await db
      .insertInto('counters_window_marks')
      .values({ hours, folded_to: foldedTo, keys: Number(row.keys) })
      .onConflict((oc) => oc.column('hours').doUpdateSet({ folded_to: foldedTo, keys: Number(row.keys) }))
      .execute();
  }
}

function entriesOf(rows: { key: string; count: number }[]): CounterEntry[] {
  return rows.map((row) => ({ key: row.key, count: Number(row.count) }));
}
