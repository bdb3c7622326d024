// Migrations are owned by the modules (and infra drivers) whose tables they create; this runs
// them all, in name order, on start and with `workyard migrate`.
import { type Kysely, type Migration, Migrator } from 'kysely';
import type { Database, SqlDialect } from './database.js';

/** A migration that may need to know the dialect (BLOB vs BYTEA, SKIP LOCKED, …). */
export type DialectMigration = (dialect: SqlDialect) => Migration;

/** Names are `YYYYMMDD-NN-owner-what`, so that the global order is the order they were written in. */
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
    db: database.db as Kysely<any>,
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
