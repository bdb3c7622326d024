// compute's table.
import { type MigrationSet, renameTables } from '../../infra/db/migrations.js';

export const computeMigrations: MigrationSet = {
  '20261127-00-compute-tasks': () => ({
    async up(db) {
      await db.schema
        .createTable('wy_compute_tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        // a double on both dialects (SQLite gives the type REAL affinity), so results round-trip exactly
        .addColumn('result', 'double precision')
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
    },
  }),
  // Pruning looks finished records up by finish time: without the index each batch scans the table.
  '20261127-01-compute-tasks-finished-at': () => ({
    async up(db) {
      await db.schema.createIndex('wy_compute_tasks_finished_at').on('wy_compute_tasks').column('finished_at').execute();
    },
  }),
  // The recent-tasks page reads the newest records: without the index every view sorts the table.
  '20261204-00-compute-tasks-created-at': () => ({
    async up(db) {
      await db.schema.createIndex('wy_compute_tasks_created_at').on('wy_compute_tasks').column('created_at').execute();
    },
  }),
  '20261204-10-compute-table-names': renameTables({ wy_compute_tasks: 'compute_tasks' }),
};
