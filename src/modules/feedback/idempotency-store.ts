// The recorded Idempotency-Keys of the feedback posts, one text for SQLite and PostgreSQL. A sync
// post's key is written by FeedbackStore in the transaction of its row (insertKeyRecords); an async
// post's key is claimed before its job is enqueued and completed after, here.
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/database.js';
import type { MigrationSet } from '../../infra/db/migrations.js';
import type { IdempotencyRecord, RecordedAnswer } from './idempotency.js';

export const KEYS_TABLE = 'feedback_idempotency_keys';

export const idempotencyMigrations: MigrationSet = {
  '20261127-02-feedback-idempotency-keys': () => ({
    async up(db) {
      await db.schema
        .createTable(KEYS_TABLE)
        .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        // JSON of the answer; null while an async post is between its claim and its enqueue
        .addColumn('answer', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('claimed_at', 'bigint', (c) => c.notNull())
        .execute();
      // pruning reads the oldest keys first: without the index each batch scans the table
      await db.schema.createIndex(`${KEYS_TABLE}_created_at`).on(KEYS_TABLE).column('created_at').execute();
    },
  }),
};

// 6 columns × 1,000 rows stays far below SQLite's 32,766 bound values per statement.
const INSERT_CHUNK = 1000;

/** Inserts the records, skipping keys already stored; returns the keys that were new. */
export async function insertKeyRecords(db: Kysely<any>, records: IdempotencyRecord[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < records.length; i += INSERT_CHUNK) {
    const result = await db
      .insertInto(KEYS_TABLE)
      .values(records.slice(i, i + INSERT_CHUNK).map(toRow))
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('idempotency_key')
      .execute();
    for (const row of result) inserted.add(row.idempotency_key as string);
  }
  return inserted;
}

export class IdempotencyStore {
  constructor(private readonly database: Database) {}

  async find(key: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.database.run((db) => db.selectFrom(KEYS_TABLE).selectAll().where('idempotency_key', '=', key).executeTakeFirst());
    return row && fromRow(row);
  }

  /** Records the key as being processed; resolves with the record already stored when there is one. */
  async claim(record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    const inserted = await this.database.run((db) => insertKeyRecords(db, [record]));
    if (inserted.has(record.key)) return undefined;
    return (await this.find(record.key)) ?? this.claim(record);
  }

  /** Takes over a claim nobody completed, if it is still the one we saw (another request may have taken it first). */
  async takeOver(record: IdempotencyRecord, now: number): Promise<boolean> {
    const result = await this.database.run((db) =>
      db
        .updateTable(KEYS_TABLE)
        .set({ claimed_at: now })
        .where('idempotency_key', '=', record.key)
        .where('answer', 'is', null)
        .where('claimed_at', '=', record.claimedAt)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async complete(key: string, answer: RecordedAnswer): Promise<void> {
    await this.database.run((db) => db.updateTable(KEYS_TABLE).set({ answer: JSON.stringify(answer) }).where('idempotency_key', '=', key).execute());
  }

  /** Lets the next request with the key take it over at once (its claim time becomes 0). */
  async release(key: string): Promise<void> {
    await this.database.run((db) => db.updateTable(KEYS_TABLE).set({ claimed_at: 0 }).where('idempotency_key', '=', key).where('answer', 'is', null).execute());
  }

  /** Deletes up to `limit` keys first seen before `cutoff`, by primary key; resolves with how many went. */
  async pruneCreatedBefore(cutoff: number, limit: number): Promise<number> {
    return this.database.run(async (db) => {
      const keys = await db.selectFrom(KEYS_TABLE).select('idempotency_key').where('created_at', '<', cutoff).orderBy('created_at').limit(limit).execute();
      if (!keys.length) return 0;
      const result = await db
        .deleteFrom(KEYS_TABLE)
        .where('idempotency_key', 'in', keys.map((row) => row.idempotency_key as string))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}

function toRow(record: IdempotencyRecord) {
  return {
    idempotency_key: record.key,
    fingerprint: record.fingerprint,
    resource_id: record.resourceId,
    answer: record.answer === null ? null : JSON.stringify(record.answer),
    created_at: record.createdAt,
    claimed_at: record.claimedAt,
  };
}

function fromRow(row: Record<string, unknown>): IdempotencyRecord {
  return {
    key: row.idempotency_key as string,
    fingerprint: row.fingerprint as string,
    resourceId: row.resource_id as string,
    answer: row.answer === null ? null : (JSON.parse(row.answer as string) as RecordedAnswer),
    createdAt: Number(row.created_at),
    claimedAt: Number(row.claimed_at),
  };
}
