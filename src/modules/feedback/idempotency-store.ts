// The recorded Idempotency-Keys of the feedback posts, one text for SQLite and PostgreSQL. A sync
// post's key is written by FeedbackStore in the transaction of its row (insertKeyRecords); an async
// post's key is claimed before its job is enqueued and completed after, here.
import type { Kysely } from 'kysely';
import { insertReturningIds } from '../../infra/db/chunks.js';
import { type Database, withTables } from '../../infra/db/database.js';
import type { IdempotencyRecord, RecordedAnswer } from './idempotency.js';
import type { FeedbackTables } from './store.js';

export const KEYS_TABLE = 'feedback_idempotency_keys';

export interface IdempotencyKeyRow {
  idempotency_key: string;
  fingerprint: string;
  resource_id: string;
  /** JSON of the answer; null while an async post is between its claim and its enqueue */
  answer: string | null;
  created_at: number;
  claimed_at: number;
}

/** Inserts the records, skipping keys already stored; returns the keys that were new. */
export function insertKeyRecords(db: Kysely<FeedbackTables>, records: IdempotencyRecord[]): Promise<Set<string>> {
  return insertReturningIds(records.map(toRow), async (chunk) =>
    (await db.insertInto(KEYS_TABLE).values(chunk).onConflict((oc) => oc.column('idempotency_key').doNothing()).returning('idempotency_key').execute()).map(
      (row) => row.idempotency_key,
    ),
  );
}

export class IdempotencyStore {
  private readonly database: Database<FeedbackTables>;

  constructor(database: Database) {
    this.database = withTables<FeedbackTables>(database);
  }

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
        .where('idempotency_key', 'in', keys.map((row) => row.idempotency_key))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}

function toRow(record: IdempotencyRecord): IdempotencyKeyRow {
  return {
    idempotency_key: record.key,
    fingerprint: record.fingerprint,
    resource_id: record.resourceId,
    answer: record.answer === null ? null : JSON.stringify(record.answer),
    created_at: record.createdAt,
    claimed_at: record.claimedAt,
  };
}

function fromRow(row: IdempotencyKeyRow): IdempotencyRecord {
  return {
    key: row.idempotency_key,
    fingerprint: row.fingerprint,
    resourceId: row.resource_id,
    answer: row.answer === null ? null : (JSON.parse(row.answer) as RecordedAnswer),
    createdAt: Number(row.created_at),
    claimedAt: Number(row.claimed_at),
  };
}
