import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, withTables } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import type { CountersTables } from './counter-store.js';
import { countersMigrations } from './migrations.js';
import { pageInSteps } from './ranked-walk.js';

describe('deep pages walked in steps (SQLite)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-walk-'));
  let database: Database;
  let all: { key: string; count: number }[];
  let tables: Database<CountersTables>['db'];

  beforeAll(async () => {
    database = openDatabase({ dataDir, timeoutMs: 10_000 });
    await migrateToLatest(database, [countersMigrations]);
    tables = withTables<CountersTables>(database).db;
    // long tie groups (many keys share a count) and short ones, so steps end inside and at the edge of groups
    const rows = Array.from({ length: 157 }, (_, i) => ({ key: `/k/${String((i * 37) % 157).padStart(3, '0')}`, count: i < 60 ? 1 : i < 100 ? 2 + (i % 3) : 5 + (i % 11) }));
    await tables.insertInto('counters_counts').values(rows).execute();
    all = await tables.selectFrom('counters_counts').select(['key', 'count']).orderBy('count', 'desc').orderBy('key', 'asc').execute();
  });
  afterAll(async () => {
    await database.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives the same page as one OFFSET query, for every offset, step and page size', async () => {
    for (const step of [3, 7, 40]) {
      for (const limit of [1, 30]) {
        for (let offset = 0; offset <= all.length + 2; offset++) {
          const page = await pageInSteps(tables, limit, offset, step);
          expect(page, `step ${step}, limit ${limit}, offset ${offset}`).toEqual(all.slice(offset, offset + limit));
        }
      }
    }
  });
});
