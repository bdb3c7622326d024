// A second SQLite connection, on a thread of its own, for a job's long work (the stats roll-up
// and prune). better-sqlite3 runs a statement on the thread that calls it: on the embedded
// connection every slice of a roll-up — 5 to 10 ms of folding or deleting — held the event loop,
// and the requests that arrived meanwhile waited for it (bench:stats-rollup, the API's p99 2.7 to
// 4 times what it was without the jobs). Here the job's statements are compiled by Kysely as
// ever and run by the thread; the event loop only sends them and takes the answers.
// While the thread holds the write lock, the embedded connection's writes wait for it as for any
// other process's (sqlite-waits.ts: without holding the event loop); the thread's own statements
// wait in SQLite's busy handler, which holds only the thread. The thread starts with the first
// statement, so a process that runs no such job carries no second isolate.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { LOWER_THREAD_PRIORITY } from '../background-thread.js';
import { ThreadCalls } from '../thread-calls.js';
import { BUSY_TIMEOUT_MS, beginSqliteTransaction, runSqlite } from './sqlite-waits.js';

export interface SqliteThreadOptions {
  /** the better-sqlite3 module the thread loads (tests name one that is not there) */
  driver?: string;
  busyTimeoutMs?: number;
}

// CommonJS run by the thread: it opens the file and runs each statement it is sent, in order.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
${LOWER_THREAD_PRIORITY}
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
const statements = new Map();
const prepared = (sql) => {
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    if (statements.size >= 200) statements.delete(statements.keys().next().value);
    statements.set(sql, statement);
  }
  return statement;
};
// a Buffer arrives as a Uint8Array, which better-sqlite3 does not bind
const bindable = (value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value);
parentPort.on('message', ({ id, sql, parameters }) => {
  if (id === 0) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const statement = prepared(sql);
    const values = parameters.map(bindable);
    if (statement.reader) parentPort.postMessage({ id, rows: statement.all(values) });
    else {
      const { changes, lastInsertRowid } = statement.run(values);
      parentPort.postMessage({ id, changes, lastInsertRowid });
    }
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

export class SqliteThreadDialect implements Dialect {
  constructor(
    private readonly file: string,
    private readonly options: SqliteThreadOptions = {},
  ) {}

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createDriver(): Driver {
    const driver = this.options.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    return new SqliteThreadDriver(new StatementThread(this.file, driver, this.options.busyTimeoutMs ?? BUSY_TIMEOUT_MS));
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

interface Answer {
  id: number;
  rows?: unknown[];
  changes?: number;
  lastInsertRowid?: number | bigint;
  error?: { message: string; code?: string };
}

/** The thread and the statements it has been sent and not yet answered. */
class StatementThread {
  // a thread that failed (its driver would not load, it ran out of memory) fails what it was sent;
  // the next statement starts another
  private readonly calls = new ThreadCalls<Answer>('the SQLite thread', () =>
    new Worker(THREAD_SOURCE, { eval: true, workerData: { driver: this.driver, file: this.file, busyTimeoutMs: this.busyTimeoutMs } }),
  );

  constructor(
    private readonly file: string,
    private readonly driver: string,
    private readonly busyTimeoutMs: number,
  ) {}

  async run(sql: string, parameters: readonly unknown[]): Promise<Answer> {
    const answer = await this.calls.call({ sql, parameters });
    if (answer.error) throw Object.assign(new Error(answer.error.message), { name: 'SqliteError', code: answer.error.code });
    return answer;
  }

  async close(): Promise<void> {
    const worker = this.calls.detach();
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ id: 0 });
    await exited;
  }
}

class SqliteThreadDriver implements Driver {
  private readonly connection: ThreadConnection;
  // one connection, lent to one query or transaction at a time, as Kysely's own SQLite driver does
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(private readonly thread: StatementThread) {
    this.connection = new ThreadConnection(thread);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.held) await this.held;
    this.held = new Promise((resolve) => (this.release = resolve));
    return this.connection;
  }

  // as on the embedded connection: a write transaction holds the lock from its first statement
  beginTransaction = beginSqliteTransaction;
  commitTransaction = (connection: DatabaseConnection) => runSqlite(connection, 'commit');
  rollbackTransaction = (connection: DatabaseConnection) => runSqlite(connection, 'rollback');

  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.held = undefined;
    this.release = undefined;
    release?.();
  }

  destroy(): Promise<void> {
    return this.thread.close();
  }
}

class ThreadConnection implements DatabaseConnection {
  constructor(private readonly thread: StatementThread) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const answer = await this.thread.run(query.sql, query.parameters);
    if (answer.rows) return { rows: answer.rows as R[] };
    return {
      numAffectedRows: answer.changes === undefined ? undefined : BigInt(answer.changes),
      insertId: answer.lastInsertRowid === undefined ? undefined : BigInt(answer.lastInsertRowid),
      rows: [],
    };
  }

  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite thread does not stream: read a page at a time');
  }
}
