// The store's batched attempt writes, on SQLite and PostgreSQL: one insert and one update a chunk
// record each attempt once — a replayed attempt, in the same batch or a later one, is refused and
// changes nothing — and each delivery gets its own outcome.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlDialects } from '../../../test/support/sql-dialects.js';
import type { Database } from '../../infra/db/database.js';
import { migrateToLatest } from '../../infra/db/migrations.js';
import { webhooksMigrations } from './migrations.js';
import { type AttemptOutcome, type DeliveryRow, WebhooksStore } from './store.js';

const endpoint = { id: 'ep-1', url: 'https://example.com/hook', events: ['feedback.saved'], secret: 'whsec_x', enabled: true, disabledReason: null, createdAt: 1 };

function delivery(n: number): DeliveryRow {
  return { id: `dl-${n}`, endpoint_id: endpoint.id, event_id: `evt-${n}`, event_type: 'feedback.saved', body: '{}', state: 'pending', attempts: 0, next_attempt_at: 1, last_status: null, created_at: 1, updated_at: 1 };
}

function outcome(row: DeliveryRow, attempt: number, status: number | null, state: AttemptOutcome['state'], nextAttemptAt: number | null, disableEndpoint?: string): { delivery: DeliveryRow; outcome: AttemptOutcome } {
  return {
    delivery: row,
    outcome: { attempt: { delivery_id: row.id, attempt, started_at: 10, duration_ms: 3, status_code: status, response: status ? 'ok' : null, error: status ? null : 'refused' }, state, nextAttemptAt, ...(disableEndpoint ? { disableEndpoint } : {}) },
  };
}

for (const dialect of await sqlDialects()) {
  describe.skipIf(!dialect.available)(`webhooks store on ${dialect.name}`, () => {
    let database: Database;
    let drop: () => Promise<void>;
    let store: WebhooksStore;
    beforeAll(async () => {
      ({ database, drop } = await dialect.open());
      await migrateToLatest(database, [webhooksMigrations]);
      store = new WebhooksStore(database);
      await store.createEndpoint(endpoint);
      await store.addDeliveries(Array.from({ length: 600 }, (_, n) => delivery(n)));
    });
    afterAll(async () => {
      await database?.close();
      await drop?.();
    });

    it('records a batch of attempts with one outcome each, and a replayed attempt once', async () => {
      const rows = Array.from({ length: 600 }, (_, n) => delivery(n));
      // more than one chunk; dl-1's first attempt twice in the batch
      const batch = [
        ...rows.map((row, n) => (n % 2 ? outcome(row, 1, 500, 'pending', 5_000 + n) : outcome(row, 1, 204, 'succeeded', null))),
        outcome(rows[1], 1, 204, 'succeeded', null),
      ];
      const results = await store.recordAttempts(batch);
      expect(results.slice(0, 600).every(Boolean)).toBe(true);
      expect(results[600]).toBe(false);
      // a later batch replaying an attempt already there: refused, the delivery unchanged
      expect(await store.recordAttempts([outcome(rows[2], 1, 500, 'dead', null), outcome(rows[3], 2, 204, 'succeeded', null)])).toEqual([false, true]);
      expect(await store.delivery('dl-0')).toMatchObject({ state: 'succeeded', attempts: 1, next_attempt_at: null, last_status: 204 });
      expect(await store.delivery('dl-1')).toMatchObject({ state: 'pending', attempts: 1, next_attempt_at: 5_001, last_status: 500 });
      expect(await store.delivery('dl-2')).toMatchObject({ state: 'succeeded', attempts: 1, last_status: 204 });
      expect(await store.delivery('dl-3')).toMatchObject({ state: 'succeeded', attempts: 2, next_attempt_at: null, last_status: 204 });
      expect(await store.delivery('dl-599')).toMatchObject({ state: 'pending', attempts: 1, next_attempt_at: 5_599, last_status: 500 });
      const attempts = await sql<{ delivery_id: string; attempt: number; status_code: number }>`select delivery_id, attempt, status_code from webhooks_attempts where delivery_id in ('dl-1', 'dl-3') order by delivery_id, attempt`.execute(database.db);
      expect(attempts.rows.map((a) => [a.delivery_id, Number(a.attempt), Number(a.status_code)])).toEqual([
        ['dl-1', 1, 500],
        ['dl-3', 1, 500],
        ['dl-3', 2, 204],
      ]);
    });

    it('disables the endpoint of an attempt answered 410, and only when that attempt is recorded', async () => {
      const fresh = delivery(700);
      await store.addDeliveries([fresh]);
      expect(await store.recordAttempts([outcome(fresh, 1, 410, 'dead', null, 'the endpoint answered 410 Gone')])).toEqual([true]);
      expect(await store.endpoint(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'the endpoint answered 410 Gone' });
      expect(await store.delivery('dl-700')).toMatchObject({ state: 'dead', last_status: 410, next_attempt_at: null });
    });
  });
}
