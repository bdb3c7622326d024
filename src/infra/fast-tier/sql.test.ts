// The fast tier conformance suite on SQL: SQLite (embedded) and PostgreSQL (scaled).
import { describe } from 'vitest';
import { sqlDialects } from '../../../test/support/sql-dialects.js';
import type { Database } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import { fastTierConformance } from './fast-tier.conformance.js';
import { fastTierMigrations } from './migrations.js';
import { SqlFastTier } from './sql.js';

async function sqlTier(database: Database) {
  await migrateToLatest(database, [fastTierMigrations]);
  return new SqlFastTier(database);
}

for (const dialect of await sqlDialects()) {
  describe.skipIf(!dialect.available)(dialect.name, () => {
    fastTierConformance(`SQL on ${dialect.name}`, async () => {
      const { database, drop } = await dialect.open();
      return {
        tier: await sqlTier(database),
        async close() {
          await database.close();
          await drop();
        },
      };
    });
  });
}
