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
import { foldTarget } from './ranked-windows.js';
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
  it('deletes twelve thousand expired rows, the event loop turning meanwhile (the statements run on the background thread, a slice at a time)', async () => {
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
      // on the embedded connection one DELETE of all would have given the loop no turn
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

describe('embedded ranked windows folded a slice at a time (SQLite)', () => {
  const HOUR = BUCKET_MS.hour;
  const DAY = BUCKET_MS.day;
  const start = Date.parse('2027-08-10T12:20:30Z');
  const later = start + 90 * 60_000;
  const made: { key: string; at: number }[] = [];
  for (let at = start - 9 * DAY, i = 0; at < start; at += 17 * 60_000, i++) made.push({ key: `/f/${(i * i) % 40}`, at });
  const hourAfter = Array.from({ length: 30 }, (_, i) => ({ key: `/f/${i % 3 === 0 ? 39 : i % 7}`, at: start + i * 3 * 60_000 }));
  const expected = (range: { from: number; to: number }, limit: number) => {
    const counts = new Map<string, number>();
    for (const m of [...made, ...hourAfter]) if (m.at >= range.from && m.at < range.to) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
    const ranked = [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
    return { total: ranked.reduce((n, e) => n + e.count, 0), unique: ranked.length, entries: ranked.slice(0, limit) };
  };
  /** Each range of `spans` ending at `now`, as the counters rank it and as the requests made say. */
  const check = async (counters: EmbeddedCounters, now = later, spans = [DAY, 7 * DAY, 30 * DAY]) => {
    for (const span of spans) {
      const range = { from: now - span, to: now };
      const from = range.from - (range.from % 60_000);
      expect(await counters.top({ limit: 100, offset: 0, range })).toEqual(expected({ from, to: Math.ceil(now / 60_000) * 60_000 }, 100));
    }
  };
  const foldsUnderWay = async (database: Database) => (await tablesOf(database).selectFrom('counters_window_marks').select('fold_after').where('fold_after', 'is not', null).execute()).length;

  it('answers every range exactly between the slices of a fold, and a fold a process left half way is finished by the next', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-counters-'));
    try {
      let database = openDatabase({ dataDir, timeoutMs: 10_000 });
      await migrateToLatest(database, [countersMigrations]);
      let counters = new EmbeddedCounters(database, { windowSlice: 2 });
      for (const m of made) counters.increment(m.key, '', m.at);
      await counters.flush();
      expect(await counters.rollUp(start)).toBe(3);
      for (const m of hourAfter) counters.increment(m.key, '', m.at);
      await counters.flush();
      // the hour 12:00 folded into each window two keys a transaction, read between the transactions
      let done = false;
      const folding = counters.rollUp(later).finally(() => (done = true));
      let seenUnderWay = 0;
      while (!done) {
        if (await foldsUnderWay(database)) seenUnderWay++;
        await check(counters);
        // the fold turns the event loop between slices; SQLite's answers here never do
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await folding).toBe(3);
      expect(seenUnderWay).toBeGreaterThan(0);
      expect(await foldsUnderWay(database)).toBe(0);
      await check(counters);

      // the next hour's fold, stopped by closing the process's database once it is under way
      const next = later + HOUR;
      hourAfter.push(...Array.from({ length: 20 }, (_, i) => ({ key: `/f/${i % 5}`, at: later + i * 60_000 })));
      for (const m of hourAfter.slice(30)) counters.increment(m.key, '', m.at);
      await counters.flush();
      const dying = counters.rollUp(next + 30 * 60_000);
      while (!(await foldsUnderWay(database))) await new Promise((resolve) => setImmediate(resolve));
      // expected before the close: the fold, on the background thread, may fail while it goes on
      const dyingFails = expect(dying).rejects.toThrow();
      await counters.close();
      await database.close();
      await dyingFails;
      // another process on the same file: exact answers from the half-folded window, then the fold finished
      database = openDatabase({ dataDir, timeoutMs: 10_000 });
      counters = new EmbeddedCounters(database, { windowSlice: 2 });
      expect(await foldsUnderWay(database)).toBeGreaterThan(0);
      await check(counters, next + 30 * 60_000, [DAY, 7 * DAY]);
      await counters.rollUp(next + 30 * 60_000);
      expect(await foldsUnderWay(database)).toBe(0);
      const marks = await tablesOf(database).selectFrom('counters_window_marks').select('folded_to').execute();
      expect(marks.map((mark) => Number(mark.folded_to))).toEqual(marks.map(() => foldTarget(next + 30 * 60_000)));
      await check(counters, next + 30 * 60_000, [DAY, 7 * DAY]);
      await counters.close();
      await database.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
