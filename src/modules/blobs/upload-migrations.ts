// The resumable uploads' table: which API node holds an upload (its PATCH, HEAD or DELETE) now.
import type { MigrationSet } from '../../infra/db/migrations.js';

export const uploadMigrations: MigrationSet = {
  '20261207-50-blobs-upload-locks': () => ({
    async up(db) {
      await db.schema
        .createTable('blobs_upload_locks')
        .addColumn('upload_id', 'text', (c) => c.primaryKey())
        // a random token of the lock that holds it (one per request, on whichever node)
        .addColumn('holder', 'text', (c) => c.notNull())
        // epoch ms; renewed while held, so a node that died frees its locks by this time
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        // set by a request that waits for the lock: the holder is asked to let go (tus: a new PATCH cancels a stale one)
        .addColumn('release_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  }),
};
