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
  // Spam rules (spam-rules.ts): a suspect post is stored, marked, and left out of the page. 0/1 rather
  // than a boolean: one column type and one value for SQLite and PostgreSQL.
  '20261207-10-feedback-spam': () => ({
    async up(db) {
      await db.schema.alterTable('feedback_entries').addColumn('spam', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // the page lists the rows that are not spam, newest first; the admin's spam view the others
      await db.schema.createIndex('feedback_entries_spam_newest').on('feedback_entries').columns(['spam', 'created_at', 'id']).execute();
    },
  }),
  // The key that signs the forms' fill-time tokens when WORKYARD_FORM_SECRET is not set: made once by
  // the first process and read by every other, so a form from one API node is accepted by another.
  '20261207-11-feedback-form-secret': () => ({
    async up(db) {
      await db.schema
        .createTable('feedback_form_secrets')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .execute();
    },
  }),
  // Form posts per client address and minute (form-post-limit.ts), in the database every API node
  // shares: a limit that holds across nodes without Redis. Rows of past minutes are deleted as it goes.
  '20261207-12-feedback-post-counts': () => ({
    async up(db) {
      await db.schema
        .createTable('feedback_post_counts')
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('posts', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('feedback_post_counts_pk', ['address', 'window_start'])
        .execute();
      await db.schema.createIndex('feedback_post_counts_window').on('feedback_post_counts').column('window_start').execute();
    },
  }),
};
