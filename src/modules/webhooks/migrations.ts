// webhooks' tables: the endpoints admins register, one delivery per event and endpoint, and
// every attempt at sending one.
import type { MigrationSet } from '../../infra/db/migrations.js';

export const webhooksMigrations: MigrationSet = {
  '20261207-02-webhooks-tables': () => ({
    async up(db) {
      await db.schema
        .createTable('webhooks_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        // JSON array of event types
        .addColumn('events', 'text', (c) => c.notNull())
        // kept so that workers can sign; shown to the admin only when the endpoint is made
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webhooks_deliveries')
        // one per event and endpoint, whatever the number of attempts: its id is derived from both
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        // the exact body signed and sent, the same on every attempt
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('last_status', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // GET /webhooks/{id}/deliveries: an endpoint's newest first
      await db.schema.createIndex('webhooks_deliveries_endpoint').on('webhooks_deliveries').columns(['endpoint_id', 'created_at', 'id']).execute();
      await db.schema
        .createTable('webhooks_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        // null: no HTTP answer (refused, unreachable, timed out)
        .addColumn('status_code', 'integer')
        // the first 1 KiB of the answer's body
        .addColumn('response', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('webhooks_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
  }),
};
