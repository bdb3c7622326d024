// webhooks' SQL: endpoints, deliveries and attempts, one text for SQLite and PostgreSQL.
import { type Kysely, sql } from 'kysely';
import { chunksOf, insertReturningIds, valuesPaddedToPowerOfTwo } from '../../infra/db/chunks.js';
import { type Database, withTables } from '../../infra/db/database.js';

export interface EndpointRow {
  id: string;
  url: string;
  events: string;
  secret: string;
  enabled: number;
  disabled_reason: string | null;
  created_at: number;
}

export type DeliveryState = 'pending' | 'succeeded' | 'dead';

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  response: string | null;
  error: string | null;
}

type WebhooksTables = { webhooks_endpoints: EndpointRow; webhooks_deliveries: DeliveryRow; webhooks_attempts: AttemptRow };

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: number;
}

/** What an attempt changes: the attempt itself, the delivery's new state, and maybe the endpoint. */
export interface AttemptOutcome {
  attempt: AttemptRow;
  state: DeliveryState;
  nextAttemptAt: number | null;
  /** set: the endpoint is disabled for this reason (it answered 410 Gone) */
  disableEndpoint?: string;
}

export class WebhooksStore {
  private readonly database: Database<WebhooksTables>;

  constructor(database: Database) {
    this.database = withTables<WebhooksTables>(database);
  }

  async createEndpoint(endpoint: Endpoint): Promise<void> {
    await this.database.run((db) =>
      db
        .insertInto('webhooks_endpoints')
        .values({ id: endpoint.id, url: endpoint.url, events: JSON.stringify(endpoint.events), secret: endpoint.secret, enabled: 1, disabled_reason: null, created_at: endpoint.createdAt })
        .execute(),
    );
  }

  async endpoint(id: string): Promise<Endpoint | null> {
    const row = await this.database.run((db) => db.selectFrom('webhooks_endpoints').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? endpointOf(row) : null;
  }

  async endpoints(): Promise<Endpoint[]> {
    const rows = await this.database.run((db) => db.selectFrom('webhooks_endpoints').selectAll().orderBy('created_at').orderBy('id').execute());
    return rows.map(endpointOf);
  }

  /** Deletes the endpoint with its deliveries and their attempts; whether there was one. */
  async deleteEndpoint(id: string): Promise<boolean> {
    return this.database.run((db) =>
      db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhooks_attempts').where('delivery_id', 'in', trx.selectFrom('webhooks_deliveries').select('id').where('endpoint_id', '=', id)).execute();
        await trx.deleteFrom('webhooks_deliveries').where('endpoint_id', '=', id).execute();
        const deleted = await trx.deleteFrom('webhooks_endpoints').where('id', '=', id).executeTakeFirst();
        return Number(deleted.numDeletedRows) > 0;
      }),
    );
  }

  /** Stores deliveries that are not stored yet (their ids are derived from event and endpoint). */
  async addDeliveries(rows: DeliveryRow[]): Promise<void> {
    if (!rows.length) return;
    await this.database.run(async (db) => {
      // 11 bound values a row: chunks stay far below SQLite's limit of 32,766
      for (let i = 0; i < rows.length; i += 500) {
        await db.insertInto('webhooks_deliveries').values(rows.slice(i, i + 500)).onConflict((oc) => oc.column('id').doNothing()).execute();
      }
    });
  }

  async delivery(id: string): Promise<DeliveryRow | null> {
    return (await this.database.run((db) => db.selectFrom('webhooks_deliveries').selectAll().where('id', '=', id).executeTakeFirst())) ?? null;
  }

  /** An endpoint's deliveries, newest first, each with its attempts (oldest first). */
  async deliveries(endpointId: string, limit: number, state?: DeliveryState): Promise<(DeliveryRow & { attemptRows: AttemptRow[] })[]> {
    return this.database.run(async (db) => {
      const rows = await db
        .selectFrom('webhooks_deliveries')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .$if(state !== undefined, (q) => q.where('state', '=', state!))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      if (!rows.length) return [];
      const attempts = await db
        .selectFrom('webhooks_attempts')
        .selectAll()
        .where('delivery_id', 'in', rows.map((row) => row.id))
        .orderBy('delivery_id')
        .orderBy('attempt')
        .execute();
      const byDelivery = new Map<string, AttemptRow[]>();
      for (const attempt of attempts) byDelivery.set(attempt.delivery_id, [...(byDelivery.get(attempt.delivery_id) ?? []), attempt]);
      return rows.map((row) => ({ ...row, attemptRows: byDelivery.get(row.id) ?? [] }));
    });
  }

  /** Deliveries by id, each with its endpoint (null when deleted): one statement for many. */
  async deliveriesWithEndpoints(ids: string[]): Promise<Map<string, { delivery: DeliveryRow; endpoint: Endpoint | null }>> {
    const rows = await this.database.run((db) => db.selectFrom('webhooks_deliveries').selectAll().where('id', 'in', ids).execute());
    const endpointIds = [...new Set(rows.map((row) => row.endpoint_id))];
    const endpoints = endpointIds.length ? await this.database.run((db) => db.selectFrom('webhooks_endpoints').selectAll().where('id', 'in', endpointIds).execute()) : [];
    const byId = new Map(endpoints.map((row) => [row.id, endpointOf(row)]));
    return new Map(rows.map((row) => [row.id, { delivery: row, endpoint: byId.get(row.endpoint_id) ?? null }]));
  }

  /**
   * Records attempts and what they decide, all in one transaction (a batch of concurrent
   * deliveries): one insert of the attempts and one update of their deliveries per chunk, not two
   * statements a delivery. For each, false if that attempt was recorded already (a replayed job).
   */
  async recordAttempts(items: { delivery: DeliveryRow; outcome: AttemptOutcome }[]): Promise<boolean[]> {
    return this.database.run((db) =>
      db.transaction().execute(async (trx) => {
        const attemptKey = (deliveryId: string, attempt: number) => `${attempt} ${deliveryId}`;
        const inserted = await insertReturningIds(items, async (chunk) => {
          const rows = await trx
            .insertInto('webhooks_attempts')
            .values(chunk.map(({ outcome }) => outcome.attempt))
            .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
            .returning(['delivery_id', 'attempt'])
            .execute();
          return rows.map((row) => attemptKey(row.delivery_id, Number(row.attempt)));
        });
        // the first of a batch's items for one attempt is the one recorded (the key is taken)
        const results = items.map(({ outcome }) => inserted.delete(attemptKey(outcome.attempt.delivery_id, outcome.attempt.attempt)));
        const recorded = items.filter((_, i) => results[i]);
        const now = Date.now();
        for (const chunk of chunksOf(recorded)) {
          const values = chunk.map(({ delivery, outcome }) => sql`(${delivery.id}, ${outcome.state}, ${outcome.attempt.attempt}, ${outcome.nextAttemptAt}, ${outcome.attempt.status_code})`);
          await sql`
            update webhooks_deliveries set state = v.column2, attempts = cast(v.column3 as integer),
              next_attempt_at = cast(v.column4 as bigint), last_status = cast(v.column5 as integer), updated_at = ${now}
            from ${valuesPaddedToPowerOfTwo(values, 5)} as v
            where webhooks_deliveries.id = v.column1`.execute(trx);
        }
        for (const { delivery, outcome } of recorded) if (outcome.disableEndpoint) await disable(trx, delivery.endpoint_id, outcome.disableEndpoint);
        return results;
      }),
    );
  }

  /** A pending delivery that will not be sent: its endpoint was disabled (410) before its turn. */
  async abandon(id: string): Promise<void> {
    await this.database.run((db) => db.updateTable('webhooks_deliveries').set({ state: 'dead', next_attempt_at: null, updated_at: Date.now() }).where('id', '=', id).where('state', '=', 'pending').execute());
  }

  /** A delivery sent again on request: pending, due now. */
  async reopen(id: string): Promise<void> {
    await this.database.run((db) => db.updateTable('webhooks_deliveries').set({ state: 'pending', next_attempt_at: Date.now(), updated_at: Date.now() }).where('id', '=', id).execute());
  }
}

function disable(db: Kysely<WebhooksTables>, endpointId: string, reason: string) {
  return db.updateTable('webhooks_endpoints').set({ enabled: 0, disabled_reason: reason }).where('id', '=', endpointId).execute();
}

function endpointOf(row: EndpointRow): Endpoint {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    secret: row.secret,
    enabled: Number(row.enabled) === 1,
    disabledReason: row.disabled_reason,
    createdAt: Number(row.created_at),
  };
}
