// Spans for SQLite statements. OpenTelemetry has no instrumentation for better-sqlite3, so each
// statement Kysely runs is wrapped here (sqlite-statement-cache.ts asks for it when tracing is
// on). better-sqlite3 runs a statement synchronously: the span is exactly the statement's time.
import type { SqliteStatement } from 'kysely';
import type { ActiveTracing } from './index.js';

/** `statement`, each run of it a CLIENT span when a trace is active (as pg's spans: never a trace of their own). */
export function tracedSqliteStatement(tracing: ActiveTracing, sqlText: string, statement: SqliteStatement): SqliteStatement {
  const { operation, table } = summaryOf(sqlText);
  const name = table ? `${operation} ${table}` : operation;
  const attributes = { 'db.system.name': 'sqlite', 'db.operation.name': operation, 'db.query.text': sqlText, ...(table ? { 'db.collection.name': table } : {}) };
  const inSpan = <T>(run: () => T): T => {
    const { api, tracer } = tracing;
    if (!api.trace.getActiveSpan()) return run();
    const span = tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes });
    try {
      return run();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: api.SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  };
  return {
    get reader() {
      return statement.reader;
    },
    all: (parameters) => inSpan(() => statement.all(parameters)),
    run: (parameters) => inSpan(() => statement.run(parameters)),
    iterate: (parameters) => statement.iterate(parameters),
  } as SqliteStatement;
}

/** The statement's operation and the table it names first (what span names show), from its text. */
function summaryOf(sqlText: string): { operation: string; table: string | null } {
  const operation = /^\s*(\w+)/.exec(sqlText)?.[1]?.toUpperCase() ?? 'SQL';
  const table = /\b(?:into|update|from)\s+["`]?(\w+)/i.exec(sqlText)?.[1] ?? null;
  return { operation, table };
}
