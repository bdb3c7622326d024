// The embedded counters driver's SQL, one text for SQLite and PostgreSQL. Keys compare by code
// point (SQLite's BINARY, PostgreSQL's "C" collation), the order Redis gives its sorted sets, so
// that both drivers page through ties alike.
import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from '../db/database.js';
import type { MigrationSet } from '../db/migrations.js';
import type { CounterPage } from './contract.js';
import { pageInSteps } from './ranked-walk.js';

export const countersMigrations: MigrationSet = {
  '20261126-10-counters-tables': (dialect) => ({
    async up(db) {
      await db.schema
        .createTable('wy_counter_counts')
        .addColumn('key', dialect === 'postgres' ? sql`text collate "C"` : 'text', (c) => c.primaryKey())
        .addColumn('count', 'bigint', (c) => c.notNull())
        // SQLite: the key is the table's own B-tree, not stored twice (rowid table + key index).
        .$call((table) => (dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table))
        .execute();
      // /stats/ reads pages of this index: most counted first, ties by key.
      await sql`create index wy_counter_counts_rank on wy_counter_counts (count desc, key)`.execute(db);
      // One row: totals kept with every write, so that reading them never scans the counts.
      await db.schema
        .createTable('wy_counter_totals')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addColumn('unique_keys', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('wy_counter_totals').values({ id: 1, total: 0, unique_keys: 0 }).execute();
    },
  }),
};

export class CounterStore {
  constructor(
    private readonly db: Kysely<any>,
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
        .insertInto('wy_counter_counts')
        .values(increments.map(([key, count]) => ({ key, count })))
        .onConflict((conflict) => conflict.column('key').doUpdateSet({ count: sql`wy_counter_counts.count + excluded.count` }))
        .returning(['key', 'count'])
        .execute();
      // A row whose count is exactly what we added was not there before (counts start at 1 or more).
      let created = 0;
      for (const row of rows) if (Number(row.count) === added.get(row.key)) created++;
      await trx
        .updateTable('wy_counter_totals')
        .set({ total: sql`total + ${sum}`, unique_keys: sql`unique_keys + ${created}` })
        .where('id', '=', 1)
        .execute();
    });
  }

  async top(limit: number, offset: number): Promise<CounterPage> {
    const [totals, entries] = await Promise.all([
      this.db.selectFrom('wy_counter_totals').select(['total', 'unique_keys']).where('id', '=', 1).executeTakeFirst(),
      // SQLite runs on the event loop: deep pages are reached in steps (ranked-walk.ts).
      this.dialect === 'sqlite'
        ? pageInSteps(this.db, limit, offset)
        : this.db.selectFrom('wy_counter_counts').select(['key', 'count']).orderBy('count', 'desc').orderBy('key', 'asc').limit(limit).offset(offset).execute(),
    ]);
    return {
      total: Number(totals?.total ?? 0),
      unique: Number(totals?.unique_keys ?? 0),
      entries: entries.map((row) => ({ key: row.key as string, count: Number(row.count) })),
    };
  }

  async clear(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // TRUNCATE frees millions of rows at once on PostgreSQL; SQLite's unconditioned DELETE does the same.
      if (this.dialect === 'postgres') await sql`truncate wy_counter_counts`.execute(trx);
      else await trx.deleteFrom('wy_counter_counts').execute();
      await trx.updateTable('wy_counter_totals').set({ total: 0, unique_keys: 0 }).where('id', '=', 1).execute();
    });
  }
}
