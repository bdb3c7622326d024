import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import type { Counters } from './contract.js';
import { countersConformance } from './counters.conformance.js';
import { countersMigrations } from './migrations.js';
import { EmbeddedCounters } from './embedded.js';

async function harnessOn(database: Database, dropStore: () => Promise<void>) {
  await migrateToLatest(database, [countersMigrations]);
  const opened: Counters[] = [];
  return {
    async open() {
      const counters = new EmbeddedCounters(database);
      opened.push(counters);
      return counters;
    },
    async cleanup() {
      for (const counters of opened) await counters.close();
      await database.close();
      await dropStore();
    },
  };
}

describe('embedded counters on SQLite', () => {
  countersConformance(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-counters-'));
    const database = openDatabase({ dataDir, timeoutMs: 10_000 });
    return harnessOn(database, async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  });
});

const postgres = await needService('postgres');

describe.skipIf(!postgres)('embedded counters on PostgreSQL', () => {
  countersConformance(async () => {
    const store = await createTestDatabase();
    const database = openDatabase({ url: store.url, dataDir: os.tmpdir(), timeoutMs: 10_000 });
    return harnessOn(database, () => store.drop());
  });
});
