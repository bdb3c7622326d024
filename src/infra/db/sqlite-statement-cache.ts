// Kysely's SQLite driver prepares every statement anew; preparing costs more than running a small
// statement, and the queue runs the same few statements tens of thousands of times a second.
// This wrapper keeps the most recent prepared statements by their SQL text.
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { activeTracing } from '../telemetry/index.js';
import { tracedSqliteStatement } from '../telemetry/sqlite-spans.js';

const MAX_CACHED_STATEMENTS = 500;

export function cachingSqliteDatabase(raw: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const tracing = activeTracing();
  return {
    close: () => {
      cache.clear();
      raw.close();
    },
    prepare(sqlText: string): SqliteStatement {
      let statement = cache.get(sqlText);
      if (statement) {
        // refresh its place so the least recently used is evicted first
        cache.delete(sqlText);
      } else {
        statement = raw.prepare(sqlText);
        if (cache.size >= MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, statement);
      // A cached statement must not be iterated twice at once; Kysely streams only through
      // `iterate`, so a streamed query gets a statement of its own.
      const own = statement;
      const prepared = {
        get reader() {
          return own.reader;
        },
        all: (parameters) => own.all(parameters as unknown[]),
        run: (parameters) => own.run(parameters as unknown[]),
        iterate: (parameters) => raw.prepare(sqlText).iterate(parameters as unknown[]),
      } as SqliteStatement;
      return tracing ? tracedSqliteStatement(tracing, sqlText, prepared) : prepared;
    },
  };
}
