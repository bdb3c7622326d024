// Waiting for SQLite's write lock without holding the event loop. SQLite's own busy handler, which
// better-sqlite3 uses for its `timeout`, sleeps in the calling thread — 1, 2, 5, 10, 15, 20, 25 …
// 100 ms at a time — and retries only when it wakes: with a worker process on the same file
// taking the lock again and again, an API process's write slept up to 235 ms at a time, serving
// nothing meanwhile (its event loop's delay, p99 43–50 ms, under POST /feedback/sync with a webhook
// delivered by a `workyard worker`; 21–29 ms without one). Here the connection never sleeps
// (busy timeout 0): a statement refused with SQLITE_BUSY is tried again after a millisecond, then
// every few, until BUSY_TIMEOUT_MS have passed, as before.
// Which statements can be tried again: outside a transaction every one (a statement refused the
// lock changed nothing); BEGIN IMMEDIATE and COMMIT (SQLite documents both as retryable). A write
// transaction therefore begins IMMEDIATE — it holds the lock from its first statement, so nothing
// inside it is refused, and a transaction that reads before it writes cannot find, at its first
// write, that another process wrote since its read (SQLITE_BUSY_SNAPSHOT, which no retry cures).
// A transaction asked for as read only begins deferred: it takes no lock and is never refused.
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, SqliteDialect, type SqliteDialectConfig, type TransactionSettings } from 'kysely';

/** how long a statement waits for the write lock in all: better-sqlite3's timeout before */
export const BUSY_TIMEOUT_MS = 5_000;

export class WaitingSqliteDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly raw: BetterSqlite3.Database,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new WaitingSqliteDriver(super.createDriver(), this.raw);
  }
}

class WaitingSqliteDriver implements Driver {
  // Kysely's SQLite driver has one connection, lent to one query at a time: so has this one
  private connection: WaitingConnection | undefined;

  constructor(
    private readonly inner: Driver,
    private readonly raw: BetterSqlite3.Database,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await this.inner.acquireConnection();
    if (this.connection?.inner !== inner) this.connection = new WaitingConnection(inner, this.raw);
    return this.connection;
  }

  beginTransaction = beginSqliteTransaction;
  commitTransaction = (connection: DatabaseConnection) => runSqlite(connection, 'commit');
  rollbackTransaction = (connection: DatabaseConnection) => runSqlite(connection, 'rollback');

  savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    return this.inner.savepoint!(connection, name, compile);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    return this.inner.rollbackToSavepoint!(connection, name, compile);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    return this.inner.releaseSavepoint!(connection, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as WaitingConnection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** A write transaction begins IMMEDIATE (it holds the lock from its first statement), a read-only one deferred. */
export function beginSqliteTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
  return runSqlite(connection, settings.accessMode === 'read only' ? 'begin' : 'begin immediate');
}

export async function runSqlite(connection: DatabaseConnection, statement: string): Promise<void> {
  await connection.executeQuery(CompiledQuery.raw(statement));
}

const RETRYABLE_IN_TRANSACTION = /^\s*(begin immediate|commit)\s*$/i;

class WaitingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly raw: BetterSqlite3.Database,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    for (let tries = 0, giveUpAt = 0; ; tries++) {
      try {
        return await this.inner.executeQuery<R>(query);
      } catch (error) {
        // whether to retry is asked only once refused (a refused statement leaves the transaction
        // as it was), so a statement that passes pays nothing for it
        if (!isBusy(error) || (this.raw.inTransaction && !RETRYABLE_IN_TRANSACTION.test(query.sql))) throw error;
        const now = performance.now();
        if (tries === 0) giveUpAt = now + BUSY_TIMEOUT_MS;
        else if (now >= giveUpAt) throw error;
        await pause(tries);
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const isBusy = (error: unknown) => typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('SQLITE_BUSY');

/**
 * 1 ms, then up to 4: a lock held for a statement and its commit is gone within about a
 * millisecond, and a retry sooner (a turn of the event loop) spent both processes' CPU on refusals.
 */
function pause(tries: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(1 + (tries >> 1), 4)));
}
