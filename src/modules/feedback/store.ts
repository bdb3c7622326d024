// The feedback tables and their SQL, one text for SQLite and PostgreSQL. Every statement goes through
// `database.run`, so a database that is down answers 503 within the dependency deadline.
import type { Kysely } from 'kysely';
import { insertReturningIds } from '../../infra/db/chunks.js';
import { type Database, withTables } from '../../infra/db/database.js';
import { RowInsert } from '../../infra/db/row-insert.js';
import type { EventOutbox } from '../../infra/events/contract.js';
import type { IdempotencyRecord } from './idempotency.js';
import { type IdempotencyKeyRow, insertKeyRecords } from './idempotency-store.js';
import type { FeedbackInput } from './validation.js';

/** How an entry reached the table: saved in the request, or by a worker from the queue. */
export type SaveVia = 'sync' | 'queued';

export interface FeedbackRow extends FeedbackInput {
  id: string;
  via: SaveVia;
  /** epoch milliseconds: when the person submitted it, not when a worker saved it */
  created_at: number;
  /** 1: a suspect form post (spam-rules.ts), kept but not listed nor announced; absent or 0: not spam */
  spam?: 0 | 1;
}

/** A row as the admin's export and spam view see it: everything, the email address included. */
export interface StoredFeedback {
  id: string;
  name: string;
  email: string;
  rating: number | null;
  message: string;
  via: SaveVia;
  created_at: number;
  spam: number;
}

/** Which rows an export reads: a time range (epoch ms, since inclusive, until exclusive) and spam or not. */
export interface ExportFilter {
  since?: number;
  until?: number;
  spam: 'false' | 'true' | 'all';
}

/** What listings show: no email address, which the person gave to us, not to every visitor. */
export interface FeedbackEntry {
  id: string;
  name: string;
  rating: number | null;
  message: string;
  via: SaveVia;
  createdAt: number;
}

export type FeedbackTables = {
  feedback_entries: FeedbackRow;
  feedback_idempotency_keys: IdempotencyKeyRow;
  feedback_post_counts: { address: string; window_start: number; posts: number };
};

export const PAGE_SIZE = 50;

export class FeedbackStore {
  private readonly database: Database<FeedbackTables>;
  /** the insert of entries, skipping ids stored already (a save job run again) */
  private readonly entryInsert: RowInsert<FeedbackRow>;

  /** `events`: where `feedback.saved` is recorded, in each insert's transaction, while it has a taker (none: not recorded) */
  constructor(
    database: Database,
    private readonly events?: EventOutbox,
  ) {
    this.database = withTables<FeedbackTables>(database);
    const columns = ['id', 'name', 'email', 'message', 'rating', 'via', 'created_at', 'spam'] as const;
    this.entryInsert = new RowInsert<FeedbackRow>(database.dialect, 'feedback_entries', columns, 'on conflict ("id") do nothing returning "id"');
  }

  /**
   * Inserts the rows, skipping ids that are already stored; returns the ids that were new. `keys`
   * are the Idempotency-Keys of some of the rows (their `resourceId` is the row's id): they are
   * recorded in the same transaction as the rows, and a row whose key is stored already is not
   * inserted, so a row and its key are committed together or not at all. Each new row's
   * `feedback.saved` event is recorded in the same transaction (recordSavedEvents).
   */
  async insert(rows: FeedbackRow[], keys: IdempotencyRecord[] = []): Promise<Set<string>> {
    // Without keys or a taker of the event, one statement and no transaction around it: on
    // SQLite, the event's insert and the explicit commit were a fifth of POST /feedback/sync's main
    // thread, for events nobody would deliver (`workyard start` with no webhook endpoint).
    if (!keys.length && !this.events?.wants('feedback.saved')) return this.database.run((db) => insertRows(db, this.entryInsert, rows));
    return this.database.run((db) =>
      db.transaction().execute(async (trx) => {
        let toInsert = rows;
        if (keys.length) {
          const recorded = await insertKeyRecords(trx, keys);
          const keyTaken = new Set(keys.filter((key) => !recorded.has(key.key)).map((key) => key.resourceId));
          if (keyTaken.size) toInsert = rows.filter((row) => !keyTaken.has(row.id));
        }
        const inserted = await insertRows(trx, this.entryInsert, toInsert);
        await this.recordSavedEvents(trx, toInsert, inserted);
        return inserted;
      }),
    );
  }

  /**
   * The one place `feedback.saved` is recorded: for the rows this transaction inserted (a row
   * stored already got its event when it was). A row that should not be announced is skipped here.
   */
  private async recordSavedEvents(trx: Kysely<FeedbackTables>, rows: FeedbackRow[], inserted: Set<string>): Promise<void> {
    if (!this.events?.wants('feedback.saved') || !inserted.size) return;
    // a suspect post is stored for the admin, not announced: a bot's post must not reach other systems
    const saved = rows.filter((row) => inserted.has(row.id) && !row.spam);
    if (!saved.length) return;
    await this.events.recordIn(
      trx,
      saved.map((row) => ({ type: 'feedback.saved', data: { id: row.id, name: row.name, email: row.email, rating: row.rating, message: row.message, via: row.via, created_at: row.created_at } })),
    );
  }

  /** One page of the rows that are not spam (or of those that are), newest first; `hasNext` says whether an older page has entries. */
  async page(page: number, size = PAGE_SIZE, spam = false): Promise<{ entries: FeedbackEntry[]; hasNext: boolean }> {
    const rows = await this.database.run((db) =>
      db
        .selectFrom('feedback_entries')
        .select(['id', 'name', 'rating', 'message', 'via', 'created_at as createdAt'])
        .where('spam', '=', spam ? 1 : 0)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        // one more than a page, to know whether there is a next one without counting the table
        .limit(size + 1)
        .offset((page - 1) * size)
        .execute(),
    );
    return { entries: rows.slice(0, size), hasNext: rows.length > size };
  }

  /**
   * The rows an export reads, oldest first, `limit` after the cursor (the last row of the batch
   * before): keyset pages on (created_at, id), so each batch is one index range however deep.
   */
  async exportBatch(filter: ExportFilter, after: { created_at: number; id: string } | null, limit: number): Promise<StoredFeedback[]> {
    return this.database.run((db) => {
      let query = db.selectFrom('feedback_entries').select(['id', 'name', 'email', 'rating', 'message', 'via', 'created_at', 'spam']);
      if (filter.spam !== 'all') query = query.where('spam', '=', filter.spam === 'true' ? 1 : 0);
      if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since);
      if (filter.until !== undefined) query = query.where('created_at', '<', filter.until);
      if (after) query = query.where((eb) => eb.or([eb('created_at', '>', after.created_at), eb.and([eb('created_at', '=', after.created_at), eb('id', '>', after.id)])]));
      return query.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).execute() as Promise<StoredFeedback[]>;
    });
  }
}

function insertRows(db: Kysely<FeedbackTables>, insert: RowInsert<FeedbackRow>, rows: FeedbackRow[]): Promise<Set<string>> {
  // every row names every column: the optional ones are bound as their defaults would be
  const complete = rows.map((row) => ({ ...row, rating: row.rating ?? null, spam: row.spam ?? 0 }));
  return insertReturningIds(complete, async (chunk) => (await insert.execute<{ id: string }>(db, chunk)).map((row) => row.id));
}
