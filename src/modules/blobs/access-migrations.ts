// The blobs module's access table: the key that signs links when WORKYARD_SIGNING_KEY is not set,
// made once by the first process and read by every other, so a link from one node works on all.
import type { MigrationSet } from '../../infra/db/migrations.js';

export const accessMigrations: MigrationSet = {
  '20261207-40-blobs-signing-keys': () => ({
    async up(db) {
      await db.schema
        .createTable('blobs_signing_keys')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .execute();
    },
  }),
};
