// The SQL fast tier's table.
import { sql } from 'kysely';
import { type MigrationSet, bytesType, renameTables } from '../db/migrations.js';

export const fastTierMigrations: MigrationSet = {
  '20261126-01-blobs-pending': (dialect) => ({
    async up(db) {
      await db.schema
        .createTable('blobs_pending')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('bytes', sql.raw(bytesType(dialect)), (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text')
        .addColumn('last_modified', 'bigint', (c) => c.notNull())
        .addColumn('upload_token', 'text')
        .addColumn('upload_lease_until', 'bigint')
        .addColumn('sweep_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('blobs_pending_sweep_at').on('blobs_pending').column('sweep_at').execute();
    },
  }),
  '20261204-10-fast-tier-table-names': renameTables({ blobs_pending: 'fast_tier_pending' }),
};
