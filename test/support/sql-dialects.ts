// The two SQL dialects a store runs on, each opening a database of its own: SQLite in a temporary
// directory, PostgreSQL as a fresh database on the test server (only where that server answers).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../../src/infra/db/database.js';
import { createTestDatabase, needService } from './services.js';

export interface SqlDialect {
  name: 'SQLite' | 'PostgreSQL';
  available: boolean;
  /** A new, empty database; `drop` removes it once the database is closed. */
  open(): Promise<{ database: Database; drop(): Promise<void> }>;
}

export async function sqlDialects(): Promise<SqlDialect[]> {
  const sqlite = async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-sql-'));
    return { database: openDatabase({ dataDir, timeoutMs: 10_000 }), drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  };
  const postgres = async () => {
    const store = await createTestDatabase();
    return { database: openDatabase({ url: store.url, dataDir: os.tmpdir(), timeoutMs: 10_000 }), drop: store.drop };
  };
  return [
    { name: 'SQLite', available: true, open: sqlite },
    { name: 'PostgreSQL', available: await needService('postgres'), open: postgres },
  ];
}
