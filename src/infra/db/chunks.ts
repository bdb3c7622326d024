import { type RawBuilder, sql } from 'kysely';
// Multi-row statements go in chunks: SQLite binds at most 32,766 values per statement and
// PostgreSQL 65,535; 500 rows of up to 60 columns stay below both.
const ROWS_PER_STATEMENT = 500;

export function* chunksOf<T>(rows: T[], size = ROWS_PER_STATEMENT): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

/**
 * Inserts the rows a chunk per statement; `insert` returns the ids its statement returned (with
 * ON CONFLICT DO NOTHING, the rows that were new). Resolves with them all.
 */
export async function insertReturningIds<T>(rows: T[], insert: (chunk: T[]) => Promise<string[]>): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const chunk of chunksOf(rows)) for (const id of await insert(chunk)) ids.add(id);
  return ids;
}

/**
 * The rows of a `VALUES` list, padded with rows of nulls to a power of two: the statement texts
 * stay few, so SQLite's statement cache holds them all. A padding row must match nothing (a join
 * on its null key never does).
 */
export function valuesPaddedToPowerOfTwo(rows: RawBuilder<unknown>[], columns: number): RawBuilder<unknown> {
  const padding = sql`(${sql.join(Array.from({ length: columns }, () => sql`null`))})`;
  const padded = [...rows];
  for (let size = 2 ** Math.ceil(Math.log2(rows.length)); padded.length < size; ) padded.push(padding);
  return sql`(values ${sql.join(padded)})`;
}
