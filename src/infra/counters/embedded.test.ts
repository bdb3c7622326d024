import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import { BUCKET_MS, DEFAULT_RETENTION } from './buckets.js';
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

describe('embedded bucket pruning (SQLite)', () => {
  it('deletes minute buckets 48 h after they end, hours after 90 days, days only with a retention set', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-prune-'));
    const database = openDatabase({ dataDir, timeoutMs: 10_000 });
    await migrateToLatest(database, [countersMigrations]);
    const counters = new EmbeddedCounters(database, { retention: { ...DEFAULT_RETENTION, dayMs: 400 * BUCKET_MS.day } });
    try {
      const at = Date.now();
      counters.increment('/aging', 'v1', at);
      await counters.flush();
      const range = { from: at - BUCKET_MS.day, to: at + BUCKET_MS.day };
      const total = async (unit: 'minute' | 'hour' | 'day') => (await counters.series({ key: '/aging', unit, range })).reduce((sum, p) => sum + p.count, 0);
      expect(await counters.prune(at + 47 * BUCKET_MS.hour)).toBe(0);
      expect(await counters.prune(at + 49 * BUCKET_MS.hour)).toBe(4); // the minute's count, its total, and a visitor register of the path and of every path
      expect([await total('minute'), await total('hour'), await total('day')]).toEqual([0, 1, 1]);
      await counters.prune(at + 91 * BUCKET_MS.day);
      expect([await total('hour'), await total('day')]).toEqual([0, 1]);
      await counters.prune(at + 402 * BUCKET_MS.day);
      expect(await total('day')).toBe(0);
      // the all-time count and visitors are never pruned
      expect((await counters.top({ limit: 1, offset: 0 })).entries).toEqual([{ key: '/aging', count: 1 }]);
      expect((await counters.visitors(['/aging'])).get('/aging')).toBe(1);
    } finally {
      await counters.close();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
