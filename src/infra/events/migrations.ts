// The outbox's table.
import { sql } from 'kysely';
import type { MigrationSet } from '../db/migrations.js';

export const eventsMigrations: MigrationSet = {
  '20261207-01-events-outbox': (dialect) => ({
    async up(db) {
      await db.schema
        .createTable('events_outbox')
        // the order events were recorded in: consumers get them in this order
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // null until a consumer has taken it: the consumer's scan reads only these
        .addColumn('consumed_at', 'bigint')
        .execute();
      await sql`create index events_outbox_unconsumed on events_outbox (consumed_at, seq)`.execute(db);
      await sql`create index events_outbox_type on events_outbox (type, seq)`.execute(db);
    },
  }),
};
