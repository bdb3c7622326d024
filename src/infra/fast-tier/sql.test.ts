// The fast tier conformance suite on SQL: SQLite (embedded) and PostgreSQL (scaled).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import { fastTierConformance } from './fast-tier.conformance.js';
import { fastTierMigrations } from './migrations.js';
import { SqlFastTier } from './sql.js';

async function sqlTier(database: Database) {
  await migrateToLatest(database, [fastTierMigrations]);
  return new SqlFastTier(database);
}

fastTierConformance('SQL on SQLite', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-fast-tier-'));
  const database = openDatabase({ dataDir, timeoutMs: 5_000 });
  return {
    tier: await sqlTier(database),
    async close() {
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

const postgresUp = await needService('postgres');
describe.skipIf(!postgresUp)('PostgreSQL', () => {
  fastTierConformance('SQL on PostgreSQL', async () => {
    const testDatabase = await createTestDatabase();
    const database = openDatabase({ url: testDatabase.url, dataDir: os.tmpdir(), timeoutMs: 5_000 });
    return {
      tier: await sqlTier(database),
      async close() {
        await database.close();
        await testDatabase.drop();
      },
    };
  });
});
