// Spans for SQLite statements. OpenTelemetry has no instrumentation for better-sqlite3, so each
// statement Kysely runs is wrapped here (sqlite-statement-cache.ts asks for it when tracing is
// on). better-sqlite3 runs a statement synchronously: the span is exactly the statement's time.
import type { SqliteStatement } from 'kysely';
import type { ActiveTracing } from './index.js';

/** `statement`, each run of it a CLIENT span when a trace is active (as pg's spans: never a trace of their own). */
export function tracedSqliteStatement(tracing: ActiveTracing, sqlText: string, statement: SqliteStatement): SqliteStatement {
  const { name, attributes } = describedStatement(sqlText);
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

interface DescribedStatement {
  name: string;
  attributes: Record<string, string>;
}
// Kysely prepares a statement for every query: its description is kept by text, as the statements are.
const described = new Map<string, DescribedStatement>();
const MAX_DESCRIBED = 1_000;

/** Span name (operation and the table it names first) and attributes, from the statement's text. */
function describedStatement(sqlText: string): DescribedStatement {
  let found = described.get(sqlText);
  if (found) return found;
  const operation = /^\s*(\w+)/.exec(sqlText)?.[1]?.toUpperCase() ?? 'SQL';
  const table = /\b(?:into|update|from)\s+["`]?(\w+)/i.exec(sqlText)?.[1];
  const attributes: Record<string, string> = { 'db.system.name': 'sqlite', 'db.operation.name': operation, 'db.query.text': sqlText };
  if (table) attributes['db.collection.name'] = table;
  found = { name: table ? `${operation} ${table}` : operation, attributes };
  if (described.size >= MAX_DESCRIBED) described.clear();
  described.set(sqlText, found);
  return found;
}
