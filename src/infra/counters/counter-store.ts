// The embedded counters driver's SQL, one text for SQLite and PostgreSQL. Keys compare by code
// point (SQLite's BINARY, PostgreSQL's "C" collation), the order Redis gives its sorted sets, so
// that both drivers page through ties alike.
import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from '../db/database.js';
import type { CounterPage } from './contract.js';
import { pageInSteps } from './ranked-walk.js';

export type CountersTables = {
  counters_counts: { key: string; count: number };
  /** one row, id 1 */
  counters_totals: { id: number; total: number; unique_keys: number };
};

export class CounterStore {
  constructor(
    private readonly db: Kysely<CountersTables>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Adds the increments in one transaction; the totals row changes with them. */
  async add(increments: [key: string, count: number][]): Promise<void> {
    if (increments.length === 0) return;
    // Rows are locked in one order by every process, so two processes' batches cannot deadlock.
    increments.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const added = new Map(increments);
    const sum = increments.reduce((total, [, count]) => total + count, 0);
    await this.db.transaction().execute(async (trx) => {
      const rows: { key: string; count: number }[] = await trx
        .insertInto('counters_counts')
        .values(increments.map(([key, count]) => ({ key, count })))
        .onConflict((conflict) => conflict.column('key').doUpdateSet({ count: sql`counters_counts.count + excluded.count` }))
        .returning(['key', 'count'])
        .execute();
      // A row whose count is exactly what we added was not there before (counts start at 1 or more).
      let created = 0;
      for (const row of rows) if (Number(row.count) === added.get(row.key)) created++;
      await trx
        .updateTable('counters_totals')
        .set({ total: sql`total + ${sum}`, unique_keys: sql`unique_keys + ${created}` })
        .where('id', '=', 1)
        .execute();
    });
  }

  async top(limit: number, offset: number): Promise<CounterPage> {
    const [totals, entries] = await Promise.all([
      this.db.selectFrom('counters_totals').select(['total', 'unique_keys']).where('id', '=', 1).executeTakeFirst(),
      // SQLite runs on the event loop: deep pages are reached in steps (ranked-walk.ts).
      this.dialect === 'sqlite'
        ? pageInSteps(this.db, limit, offset)
        : this.db.selectFrom('counters_counts').select(['key', 'count']).orderBy('count', 'desc').orderBy('key', 'asc').limit(limit).offset(offset).execute(),
    ]);
    return {
      total: Number(totals?.total ?? 0),
      unique: Number(totals?.unique_keys ?? 0),
      entries,
    };
  }

  async clear(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // TRUNCATE frees millions of rows at once on PostgreSQL; SQLite's unconditioned DELETE does the same.
      if (this.dialect === 'postgres') await sql`truncate counters_counts`.execute(trx);
      else await trx.deleteFrom('counters_counts').execute();
      await trx.updateTable('counters_totals').set({ total: 0, unique_keys: 0 }).where('id', '=', 1).execute();
    });
  }
}
