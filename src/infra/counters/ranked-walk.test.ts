import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import { countersMigrations } from './counter-store.js';
import { pageInSteps } from './ranked-walk.js';

describe('deep pages walked in steps (SQLite)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-walk-'));
  let database: Database;
  let all: { key: string; count: number }[];

  beforeAll(async () => {
    database = openDatabase({ dataDir, timeoutMs: 10_000 });
    await migrateToLatest(database, [countersMigrations]);
    // long tie groups (many keys share a count) and short ones, so steps end inside and at the edge of groups
    const rows = Array.from({ length: 157 }, (_, i) => ({ key: `/k/${String((i * 37) % 157).padStart(3, '0')}`, count: i < 60 ? 1 : i < 100 ? 2 + (i % 3) : 5 + (i % 11) }));
    await database.db.insertInto('wy_counter_counts').values(rows).execute();
    all = await database.db.selectFrom('wy_counter_counts').select(['key', 'count']).orderBy('count', 'desc').orderBy('key', 'asc').execute();
  });
  afterAll(async () => {
    await database.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives the same page as one OFFSET query, for every offset, step and page size', async () => {
    for (const step of [3, 7, 40]) {
      for (const limit of [1, 30]) {
        for (let offset = 0; offset <= all.length + 2; offset++) {
          const page = await pageInSteps(database.db, limit, offset, step);
          expect(page, `step ${step}, limit ${limit}, offset ${offset}`).toEqual(all.slice(offset, offset + limit));
        }
      }
    }
  });
});
