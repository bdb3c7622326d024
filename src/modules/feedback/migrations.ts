// feedback's tables.
import { type MigrationSet, renameTables } from '../../infra/db/migrations.js';

export const feedbackMigrations: MigrationSet = {
  '20261126-10-feedback-entries': () => ({
    async up(db) {
      await db.schema
        .createTable('feedback')
        // text, not a serial: a queued save uses its job id, so a retried job finds its own row
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('rating', 'integer')
        .addColumn('via', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // the listing: newest first, ties broken by id so that pages never overlap
      await db.schema.createIndex('feedback_newest').on('feedback').columns(['created_at', 'id']).execute();
    },
  }),
  '20261127-02-feedback-idempotency-keys': () => ({
    async up(db) {
      await db.schema
        .createTable('feedback_idempotency_keys')
        .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        // JSON of the answer; null while an async post is between its claim and its enqueue
        .addColumn('answer', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('claimed_at', 'bigint', (c) => c.notNull())
        .execute();
      // pruning reads the oldest keys first: without the index each batch scans the table
      await db.schema.createIndex('feedback_idempotency_keys_created_at').on('feedback_idempotency_keys').column('created_at').execute();
    },
  }),
  '20261204-10-feedback-table-names': renameTables({ feedback: 'feedback_entries' }),
};
