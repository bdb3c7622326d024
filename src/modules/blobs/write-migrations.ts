// The tables of conditional writes (which writer holds a key now: key-locks.ts) and of expiry
// (which blobs expire when: expiry-index.ts).
import type { MigrationSet } from '../../infra/db/migrations.js';

export const writeMigrations: MigrationSet = {
  '20261208-10-blobs-key-locks': () => ({
    async up(db) {
      await db.schema
        .createTable('blobs_key_locks')
        .addColumn('lock_id', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  '20261208-11-blobs-expiries': () => ({
    async up(db) {
      await db.schema
        .createTable('blobs_expiries')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('blobs_expiries_due').on('blobs_expiries').column('expires_at').execute();
    },
  }),
};
