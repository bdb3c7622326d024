// The embedded database beside another connection to its file (what a `workyard worker` process
// is): a write waits for the other's lock without holding the event loop, a write transaction
// holds the lock from its first statement, a read-only one takes none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The embedded database on a new file, and a second connection to it that never waits for a lock. */
async function twoConnections() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-sqlite-waits-'));
  closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const database = openDatabase({ dataDir: dir, timeoutMs: 5_000 });
  closers.push(() => database.close());
  await sql`create table tally (n integer not null)`.execute(database.db);
  const other = new Database(path.join(dir, 'workyard.sqlite'), { timeout: 0 });
  closers.push(() => void other.close());
  return { db: database.db, other };
}

const count = async (db: Kysely<object>) => (await sql<{ n: number }>`select count(*) as n from tally`.execute(db)).rows[0].n;
const insertOne = (db: Kysely<object>) => sql`insert into tally (n) values (1)`.execute(db);

describe('the embedded database beside another connection to its file', () => {
  it('waits for the other connection\'s write lock without holding the event loop, then writes', async () => {
    const { db, other } = await twoConnections();
    other.exec('begin immediate');
    const write = insertOne(db);
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // SQLite's own busy wait would have slept in this thread: no timer would have fired
    expect(ticks).toBeGreaterThan(10);
    expect(other.prepare('select count(*) as n from tally').get()).toEqual({ n: 0 });
    other.exec('commit');
    await write;
    clearInterval(ticking);
    expect(await count(db)).toBe(1);
  });

  it('holds the write lock from a transaction\'s first statement, a read: nobody writes between its read and its write', async () => {
    const { db, other } = await twoConnections();
    await db.transaction().execute(async (trx) => {
      const seen = await count(trx);
      expect(() => other.prepare('insert into tally (n) values (1)').run()).toThrow(/database is locked/);
      await sql`insert into tally (n) values (${seen + 1})`.execute(trx);
    });
    other.prepare('insert into tally (n) values (1)').run();
    expect(await count(db)).toBe(2);
  });

  it('takes no lock for a read-only transaction: the other connection writes meanwhile', async () => {
    const { db, other } = await twoConnections();
    const seen = await db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        const before = await count(trx);
        other.prepare('insert into tally (n) values (1)').run();
        // one snapshot throughout
        return [before, await count(trx)];
      });
    expect(seen).toEqual([0, 0]);
    expect(await count(db)).toBe(1);
  });

  it('rolls a transaction back when its work throws, the connection usable after', async () => {
    const { db } = await twoConnections();
    await expect(
      db.transaction().execute(async (trx) => {
        await insertOne(trx);
        throw new Error('changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    expect(await count(db)).toBe(0);
    await insertOne(db);
    expect(await count(db)).toBe(1);
  });
});
