// A transaction that reads to decide what it writes, on a SQLite file another connection (a worker
// process) writes too: with SQLite's deferred BEGIN its write fails when the other wrote after its
// read; writeTransaction holds the write lock from the start, so the other waits instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { writeTransaction } from './write-transaction.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The embedded database on a new file, and a second connection to it that never waits for a lock. */
async function twoConnections() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-write-transaction-'));
  closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const database = openDatabase({ dataDir: dir, timeoutMs: 5_000 });
  closers.push(() => database.close());
  await sql`create table tally (n integer not null)`.execute(database.db);
  const other = new Database(path.join(dir, 'workyard.sqlite'), { timeout: 0 });
  closers.push(() => void other.close());
  return { db: database.db, other };
}

const count = async (trx: Kysely<object>) => (await sql<{ n: number }>`select count(*) as n from tally`.execute(trx)).rows[0].n;

describe('writeTransaction on SQLite', () => {
  it('holds the write lock from its first statement, a read: another connection cannot write between its read and its write', async () => {
    const { db, other } = await twoConnections();
    await writeTransaction(db, 'sqlite', async (trx) => {
      const seen = await count(trx);
      expect(() => other.prepare('insert into tally (n) values (1)').run()).toThrow(/database is locked/);
      await sql`insert into tally (n) values (${seen + 1})`.execute(trx);
    });
    other.prepare('insert into tally (n) values (1)').run();
    expect(other.prepare('select count(*) as n from tally').get()).toEqual({ n: 2 });
  });

  it('where a deferred transaction fails: its write after another connection wrote is refused', async () => {
    const { db, other } = await twoConnections();
    await expect(
      db.transaction().execute(async (trx) => {
        await count(trx);
        other.prepare('insert into tally (n) values (1)').run();
        await sql`insert into tally (n) values (2)`.execute(trx);
      }),
    ).rejects.toThrow(/database is locked|SQLITE_BUSY/);
  });

  it('rolls back when its work throws, leaving the connection usable', async () => {
    const { db } = await twoConnections();
    await expect(
      writeTransaction(db, 'sqlite', async (trx) => {
        await sql`insert into tally (n) values (1)`.execute(trx);
        throw new Error('changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    expect(await count(db)).toBe(0);
    await writeTransaction(db, 'sqlite', (trx) => sql`insert into tally (n) values (1)`.execute(trx));
    expect(await count(db)).toBe(1);
  });
});
