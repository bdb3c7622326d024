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
import { tablesOf } from '../../../test/support/tables.js';

/** Ranked windows are built a few keys a statement: every build in the conformance runs in many slices. */
const WINDOW_SLICE = 3;

async function harnessOn(database: Database, dropStore: () => Promise<void>) {
  await migrateToLatest(database, [countersMigrations]);
  const opened: Counters[] = [];
  return {
    async open() {
      const counters = new EmbeddedCounters(database, { windowSlice: WINDOW_SLICE });
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

/** Counters on a SQLite file of their own, migrated; closed and removed after `body`. */
async function onSqlite(options: ConstructorParameters<typeof EmbeddedCounters>[1], body: (counters: EmbeddedCounters, database: Database) => Promise<void>): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-counters-'));
  const database = openDatabase({ dataDir, timeoutMs: 10_000 });
  await migrateToLatest(database, [countersMigrations]);
  const counters = new EmbeddedCounters(database, options);
  try {
    await body(counters, database);
  } finally {
    await counters.close();
    await database.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('embedded bucket pruning (SQLite)', () => {
  it('deletes minute buckets 48 h after they end, hours after 90 days, days only with a retention set', async () => {
    await onSqlite({ retention: { ...DEFAULT_RETENTION, dayMs: 400 * BUCKET_MS.day } }, async (counters) => {
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
    });
  });
});

describe('embedded bucket pruning in slices (SQLite)', () => {
  it('deletes twelve thousand expired rows a slice at a time, the event loop turning between slices', async () => {
    await onSqlite({}, async (counters, database) => {
      const db = tablesOf(database);
      const now = Date.now();
      const old = now - 3 * BUCKET_MS.day;
      const rows = Array.from({ length: 12_000 }, (_, i) => ({ unit: 'm', start: old + (i % 60) * 60_000, key: `/p/${i}`, count: 1 }));
      for (let i = 0; i < rows.length; i += 500) await db.insertInto('counters_buckets').values(rows.slice(i, i + 500)).execute();
      // and a row to keep: a minute bucket of now
      await db.insertInto('counters_buckets').values({ unit: 'm', start: now - (now % 60_000), key: '/kept', count: 1 }).execute();
      let turns = 0;
      let pruning = true;
      const turn = () => {
        if (!pruning) return;
        turns++;
        setImmediate(turn);
      };
      setImmediate(turn);
      expect(await counters.prune(now)).toBe(12_000);
      pruning = false;
      // three slices of at most 5,000: the loop turned between them (one DELETE of all would give it no turn)
      expect(turns).toBeGreaterThanOrEqual(2);
      expect((await db.selectFrom('counters_buckets').select('key').execute()).map((row) => row.key)).toEqual(['/kept']);
    });
  });
});

describe('embedded ranked windows (SQLite)', () => {
  it('replaces a rebuilt window\'s rows by a new generation and deletes the old one a minute later, and a dead build\'s an hour after it started', async () => {
    await onSqlite({ windowSlice: WINDOW_SLICE }, async (counters, database) => {
      const db = tablesOf(database);
      const generations = async () => [...new Set((await db.selectFrom('counters_windows').select('generation').execute()).map((row) => Number(row.generation)))].sort();
      const start = Date.parse('2027-07-01T10:30:00Z');
      for (let i = 0; i < 20; i++) counters.increment(`/p/${i % 11}`, '', start - i * 37 * 60_000);
      await counters.flush();
      expect(await counters.rollUp(start)).toBe(3);
      const first = await generations();
      expect(first).toHaveLength(3);
      // a month later every window is rebuilt: new generations, the old ones still there for a minute
      const later = start + 31 * BUCKET_MS.day;
      // and a dead build: rows of a generation no mark names, begun half an hour before
      await db.insertInto('counters_window_generations').values({ generation: 42, drop_after: later + 30 * 60_000 }).execute();
      await db.insertInto('counters_windows').values({ generation: 42, key: '/dead', count: 1 }).execute();
      for (let i = 0; i < 20; i++) counters.increment(`/q/${i % 7}`, '', later - i * 37 * 60_000);
      await counters.flush();
      expect(await counters.rollUp(later)).toBe(3);
      const second = (await generations()).filter((g) => g !== 42 && !first.includes(g));
      expect(second).toHaveLength(3);
      expect(await generations()).toEqual([...first, ...second, 42].sort());
      await counters.rollUp(later + 61_000);
      expect(await generations()).toEqual([...second, 42].sort());
      await counters.rollUp(later + 31 * 60_000);
      expect(await generations()).toEqual(second);
      expect(await db.selectFrom('counters_window_generations').selectAll().execute()).toEqual([]);
    });
  });
});
