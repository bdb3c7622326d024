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
  // Write tokens (write-tokens.ts): bearer secrets the admin hands out, kept as their SHA-256 only.
  '20261207-41-blobs-write-tokens': () => ({
    async up(db) {
      await db.schema
        .createTable('blobs_write_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
        // JSON arrays: key prefixes ("" for every key) and methods (PUT, DELETE)
        .addColumn('prefixes', 'text', (c) => c.notNull())
        .addColumn('methods', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
};
