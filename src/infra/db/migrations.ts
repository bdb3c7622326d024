// Migrations are owned by the modules (and infra drivers) whose tables they create; this runs
// them all, in name order, on start and with `workyard migrate`.
import { type Migration, Migrator, sql } from 'kysely';
import type { Database, SqlDialect } from './database.js';

/** A migration that may need to know the dialect (BLOB vs BYTEA, SKIP LOCKED, …). */
export type DialectMigration = (dialect: SqlDialect) => Migration;

/**
 * Names are `YYYYMMDD-NN-owner-what`, so that the global order is the order they were written in;
 * a released name never changes (it has run on users' databases): a change is a new migration.
 */
export type MigrationSet = Record<string, DialectMigration>;

export async function migrateToLatest(database: Database, sets: MigrationSet[]): Promise<string[]> {
  const migrations: Record<string, Migration> = {};
  for (const set of sets) {
    for (const [name, make] of Object.entries(set)) {
      if (migrations[name]) throw new Error(`two migrations are named ${name}`);
      migrations[name] = make(database.dialect);
    }
  }
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    // Modules are written in parallel; one module's new migration must not be refused because
    // another module's later-named one already ran.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The column type for raw bytes on each dialect. */
export const bytesType = (dialect: SqlDialect) => (dialect === 'postgres' ? 'bytea' : 'blob');

/**
 * Renames tables to the `<owner>_<things>` scheme, keeping every row; an index named after its
 * table (`<table>_…`, primary keys included) is renamed with it. SQLite keeps an index through
 * the table's rename but cannot rename one: it is made again under the new name.
 */
export const renameTables =
  (names: Record<string, string>): DialectMigration =>
  (dialect) => ({
    async up(db) {
      for (const [from, to] of Object.entries(names)) {
        await sql`alter table ${sql.table(from)} rename to ${sql.table(to)}`.execute(db);
        // SQLite: an index it made itself (a primary key's, a unique column's) has no statement and keeps its name
        const indexes = await (dialect === 'postgres'
          ? sql<{ name: string; sql: string }>`select indexname as name, indexdef as sql from pg_indexes where schemaname = current_schema() and tablename = ${to}`
          : sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and tbl_name = ${to} and sql is not null`
        ).execute(db);
        for (const index of indexes.rows.filter((row) => row.name.startsWith(`${from}_`))) {
          const name = to + index.name.slice(from.length);
          if (dialect === 'postgres') await sql`alter index ${sql.id(index.name)} rename to ${sql.id(name)}`.execute(db);
          else {
            await sql`drop index ${sql.id(index.name)}`.execute(db);
            // the index's own statement, as SQLite keeps it (the table's new name already in it)
            await sql.raw(index.sql.replace(index.name, name)).execute(db);
          }
        }
      }
    },
  });
