// The SQL layer: one Kysely instance over SQLite (embedded) or PostgreSQL (scaled). Modules write
// their queries once with Kysely; the few places where the dialects differ ask `dialect`.
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { createRequire } from 'node:module';
import type pgTypes from 'pg';
import type { DependencyName } from '../../errors.js';
import { callDependency } from '../dependency-errors.js';
import { checkpointOffThread } from './sqlite-checkpoints.js';
import { cachingSqliteDatabase } from './sqlite-statement-cache.js';
import { SqliteThreadDialect } from './sqlite-thread.js';
import { BUSY_TIMEOUT_MS, WaitingSqliteDialect } from './sqlite-waits.js';

export type SqlDialect = 'sqlite' | 'postgres';

/** `Tables`: the table interfaces of the store using it (see withTables); infra opens it untyped. */
export interface Database<Tables = object> {
  readonly db: Kysely<Tables>;
  /**
   * For a job's long work (roll-ups, prunes): on SQLite a connection on a thread of its own, whose
   * statements do not hold the event loop (sqlite-thread.ts); on PostgreSQL `db` itself.
   */
  readonly background: Kysely<Tables>;
  readonly dialect: SqlDialect;
  /** the name clients see in a 503 and in /readyz */
  readonly dependency: DependencyName;
  /** runs a query with the dependency deadline: a database that is down answers 503 fast */
  run<T>(query: (db: Kysely<Tables>) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… or undefined for SQLite */
  url?: string;
  /** where the SQLite file lives */
  dataDir: string;
  timeoutMs: number;
  poolSize?: number;
}

const require = createRequire(import.meta.url);
let pgModule: typeof pgTypes | undefined;

/**
 * The pg driver, loaded the first time a PostgreSQL database is opened: the embedded shape never
 * loads it (each driver a shape does not use is memory the process carries idle; bench:startup).
 */
export function loadPg(): typeof pgTypes {
  if (!pgModule) {
    pgModule = require('pg') as typeof pgTypes;
    // PostgreSQL returns BIGINT (our epoch-millisecond timestamps, counts) as strings by default;
    // every value we store fits a double exactly, so numbers are what callers get on both dialects.
    pgModule.types.setTypeParser(pgModule.types.builtins.INT8, (value) => Number(value));
    pgModule.types.setTypeParser(pgModule.types.builtins.NUMERIC, (value) => Number(value));
  }
  return pgModule;
}

export function openDatabase(options: DatabaseOptions): Database {
  return options.url ? openPostgres(options) : openSqlite(options);
}

function openSqlite(options: DatabaseOptions): Database {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, 'workyard.sqlite');
  const raw = new SqliteDatabase(file, { timeout: BUSY_TIMEOUT_MS });
  // WAL lets readers proceed while a writer commits, and lets worker processes share the file.
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  // from here a statement waits for another process's write lock in sqlite-waits.ts, which does
  // not hold the event loop as SQLite's own wait does (the pragmas above, at startup, may)
  raw.pragma('busy_timeout = 0');
  // a checkpoint in a commit holds the event loop: they run on a thread of their own
  const checkpoints = checkpointOffThread(raw, file);
  const db = new Kysely<object>({ dialect: new WaitingSqliteDialect({ database: cachingSqliteDatabase(raw) }, raw) });
  const background = new Kysely<object>({ dialect: new SqliteThreadDialect(file) });
  const database = wrap(db, background, 'sqlite', 'sqlite', options.timeoutMs);
  // the threads' connections first: the last one closed removes the WAL
  return {
    ...database,
    async close() {
      await background.destroy();
      await checkpoints.close();
      await database.close();
    },
  };
}

function openPostgres(options: DatabaseOptions): Database {
  const pool = new (loadPg().Pool)({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // A PostgreSQL that is down must not hold requests: connecting and each statement have deadlines.
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: Math.max(options.timeoutMs * 10, 30_000),
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener it would crash the process.
  pool.on('error', () => {});
  // A client Kysely has checked out has no 'error' listener: losing the connection during a query
  // would be an uncaught exception, killing the process (the query itself fails and is released).
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<object>({ dialect: new PostgresDialect({ pool }) });
  return wrap(db, db, 'postgres', 'postgres', options.timeoutMs);
}

function wrap(db: Kysely<object>, background: Kysely<object>, dialect: SqlDialect, dependency: DependencyName, timeoutMs: number): Database {
  return {
    db,
    background,
    dialect,
    dependency,
    run: (query) => callDependency(dependency, timeoutMs, () => query(db)),
    ping: () => callDependency(dependency, timeoutMs, async () => void (await sql`select 1`.execute(db))),
    close: () => db.destroy(),
  };
}

/** The same database (deadline, plugins and all), its queries checked against a store's tables. */
export function withTables<Tables extends { [Table in keyof Tables]: object }>(database: Database): Database<Tables> {
  const db = database.db.withTables<Tables>();
  return { ...database, db, background: database.background.withTables<Tables>(), run: (query) => database.run(() => query(db)) };
}
