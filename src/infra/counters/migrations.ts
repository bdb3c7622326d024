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
  '20261205-10-counters-buckets': (dialect) => ({
    async up(db) {
      const keyType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
      // unit: m, h or d; start: the bucket's start in epoch ms. The key leads no index: ranges
      // are read by (unit, start), then summed per key.
      await db.schema
        .createTable('counters_buckets')
        .addColumn('unit', 'text', (c) => c.notNull())
        .addColumn('start', 'bigint', (c) => c.notNull())
        .addColumn('key', keyType, (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('counters_buckets_pk', ['unit', 'start', 'key'])
        .$call((table) => (dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table))
        .execute();
      // per bucket, the sum over every key: the series of all paths without a scan of the buckets
      await db.schema
        .createTable('counters_bucket_totals')
        .addColumn('unit', 'text', (c) => c.notNull())
        .addColumn('start', 'bigint', (c) => c.notNull())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('counters_bucket_totals_pk', ['unit', 'start'])
        .execute();
      // HyperLogLog registers (hyperloglog.ts): unit a, start 0 is the all-time set.
      await db.schema
        .createTable('counters_visitors')
        .addColumn('key', keyType, (c) => c.notNull())
        .addColumn('unit', 'text', (c) => c.notNull())
        .addColumn('start', 'bigint', (c) => c.notNull())
        .addColumn('reg', 'integer', (c) => c.notNull())
        .addColumn('rho', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('counters_visitors_pk', ['key', 'unit', 'start', 'reg'])
        .$call((table) => (dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table))
        .execute();
      // pruning deletes by age, whatever the key
      await sql`create index counters_visitors_age on counters_visitors (unit, start)`.execute(db);
      await db.schema
        .createTable('counters_salts')
        .addColumn('day', 'text', (c) => c.primaryKey())
        .addColumn('salt', 'text', (c) => c.notNull())
        .execute();
    },
  }),
  '20261210-10-counters-windows': (dialect) => ({
    async up(db) {
      const keyType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
      // ranked-windows.ts, sql-windows.ts: per generation of a window, the sum of its hours per key
      await db.schema
        .createTable('counters_windows')
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .addColumn('key', keyType, (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('counters_windows_pk', ['generation', 'key'])
        .$call((table) => (dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table))
        .execute();
      // a window's page is one walk of this index, as the all-time page is of counters_counts_rank
      await sql`create index counters_windows_rank on counters_windows (generation, count desc, key)`.execute(db);
      // per window (its length in hours): the generation readers use, how far it is folded, and
      // how many keys it holds (counted once per fold, not per read)
      await db.schema
        .createTable('counters_window_marks')
        .addColumn('hours', 'integer', (c) => c.primaryKey())
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .addColumn('folded_to', 'bigint', (c) => c.notNull())
        .addColumn('keys', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('counters_window_generations')
        .addColumn('generation', 'bigint', (c) => c.primaryKey())
        .addColumn('drop_after', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  '20261212-10-counters-window-fold-cursor': (dialect) => ({
    async up(db) {
      // sql-windows.ts: an hour is folded a slice of keys a transaction; while one is under way, the
      // keys up to this one are folded and the rest not yet (null: no fold under way)
      const keyType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
      await db.schema.alterTable('counters_window_marks').addColumn('fold_after', keyType).execute();
    },
  }),
};
