// compute's SQL: one record per sum task, so a result outlives both a restart and the queue's
// retention of finished jobs. Written as pending when the task is enqueued and once more, with the
// outcome, by the worker that ran it.
import type { Kysely } from 'kysely';
import { chunksOf } from '../../infra/db/chunks.js';
import { type Database, withTables } from '../../infra/db/database.js';
import { TickBatch, type TickBatchOptions } from '../../infra/tick-batch.js';

const TABLE = 'compute_tasks';

export type RecordedStatus = 'pending' | 'done' | 'failed';

export interface ComputeTaskRecord {
  id: string;
  status: RecordedStatus;
  result: number | null;
  error: string | null;
  created_at: number;
  finished_at: number | null;
}

export type ComputeTables = { compute_tasks: ComputeTaskRecord };

export type TaskOutcome = { status: 'done'; result: number } | { status: 'failed'; error: string };

/**
 * Thousands of sum tasks can start, or finish, in the same tick (delays that started together end
 * together). A run takes 64 of them and the rest wait for the next turn; their callers are answered
 * 16 a turn, so a health check arriving meanwhile is served between the slices.
 */
export const PACED_BATCHES: TickBatchOptions = { maxBatch: 64, runsPerTurn: 1, settlePerTurn: 16 };

export class ComputeTaskStore {
  // Thousands of tasks can finish in the same tick; each batch is one statement per 500.
  private readonly outcomes: TickBatch<ComputeTaskRecord>;
  private readonly database: Database<ComputeTables>;

  constructor(database: Database) {
    this.database = withTables<ComputeTables>(database);
    this.outcomes = new TickBatch(async (rows) => {
      await this.database.run((db) => upsertOutcomes(db, rows));
      return rows.map((): void => undefined);
    }, PACED_BATCHES);
  }

  /** Records new tasks as pending; the caller batches (see SumTaskStarter). */
  addPending(ids: string[], createdAt = Date.now()): Promise<void> {
    const rows = ids.map((id) => ({ id, status: 'pending' as const, result: null, error: null, created_at: createdAt, finished_at: null }));
    return this.database.run((db) => insertPending(db, rows));
  }

  recordOutcome(id: string, outcome: TaskOutcome, finishedAt = Date.now()): Promise<void> {
    return this.outcomes.add({
      id,
      status: outcome.status,
      result: outcome.status === 'done' ? outcome.result : null,
      error: outcome.status === 'failed' ? outcome.error : null,
      created_at: finishedAt,
      finished_at: finishedAt,
    });
  }

  /**
   * Deletes up to `limit` finished (done or failed) records that finished before `cutoff`, by
   * primary key, in one short statement; resolves with how many went. Pending records never go.
   */
  async pruneFinishedBefore(cutoff: number, limit: number): Promise<number> {
    return this.database.run(async (db) => {
      const ids = await db
        .selectFrom(TABLE)
        .select('id')
        .where('finished_at', '<', cutoff)
        .where('status', 'in', ['done', 'failed'])
        .orderBy('finished_at')
        .limit(limit)
        .execute();
      if (!ids.length) return 0;
      const result = await db
        .deleteFrom(TABLE)
        .where('id', 'in', ids.map((row) => row.id))
        .where('status', 'in', ['done', 'failed'])
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  get(id: string): Promise<ComputeTaskRecord | undefined> {
    return this.database.run((db) => db.selectFrom(TABLE).selectAll().where('id', '=', id).executeTakeFirst());
  }

  /** The newest records first (by when they were queued). */
  recent(limit: number): Promise<ComputeTaskRecord[]> {
    return this.database.run((db) => db.selectFrom(TABLE).selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).execute());
  }
}

/** A record that exists already (the worker finished first) is left as it is. */
async function insertPending(db: Kysely<ComputeTables>, rows: ComputeTaskRecord[]): Promise<void> {
  for (const chunk of chunksOf(rows)) {
    await db.insertInto(TABLE).values(chunk).onConflict((oc) => oc.column('id').doNothing()).execute();
  }
}

/** Outcomes replace the pending record, or create it when the pending write never landed. */
async function upsertOutcomes(db: Kysely<ComputeTables>, rows: ComputeTaskRecord[]): Promise<void> {
  // One statement may not touch a row twice (PostgreSQL refuses it): the latest outcome wins.
  const latest = [...new Map(rows.map((row) => [row.id, row])).values()];
  for (const chunk of chunksOf(latest)) {
    await db
      .insertInto(TABLE)
      .values(chunk)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          result: eb.ref('excluded.result'),
          error: eb.ref('excluded.error'),
          finished_at: eb.ref('excluded.finished_at'),
        })),
      )
      .execute();
  }
}
