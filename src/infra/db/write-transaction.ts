import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from './database.js';

/**
 * A transaction that holds the database's write lock from its start. SQLite's plain BEGIN is
 * deferred: a transaction whose first statement reads takes its snapshot then, and a later write
 * fails at once (SQLITE_BUSY, no waiting) when another connection — a worker process on the same
 * file — wrote meanwhile. BEGIN IMMEDIATE waits for the lock (the busy timeout) instead, so reads
 * made to decide a write see what the write will change. PostgreSQL: a plain transaction (its
 * callers lock what they need).
 */
export function writeTransaction<Tables, Result>(db: Kysely<Tables>, dialect: SqlDialect, work: (trx: Kysely<Tables>) => Promise<Result>): Promise<Result> {
  if (dialect === 'postgres') return db.transaction().execute(work);
  return db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      const result = await work(connection);
      await sql`commit`.execute(connection);
      return result;
    } catch (error) {
      // a failed commit too: the connection must not stay inside the transaction
      await sql`rollback`.execute(connection).catch(() => {});
      throw error;
    }
  });
}
