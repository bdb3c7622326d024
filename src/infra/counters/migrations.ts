// The embedded counters driver's tables.
import { sql } from 'kysely';
import { type MigrationSet, renameTables } from '../db/migrations.js';

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
  '20261204-10-counters-table-names': renameTables({ wy_counter_counts: 'counters_counts', wy_counter_totals: 'counters_totals' }),
};
