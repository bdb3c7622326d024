// The embedded database's background connection (sqlite-thread.ts): a job's statements run on a
// thread, the event loop goes on meanwhile; what it writes is the embedded connection's to read;
// transactions, errors and a thread that fails reach the caller as they would on the event loop.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { SqliteThreadDialect } from './sqlite-thread.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function newDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-sqlite-thread-'));
  closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function embedded() {
  const database = openDatabase({ dataDir: newDir(), timeoutMs: 5_000 });
  closers.push(() => database.close());
  await sql`create table tally (n integer not null unique, note blob)`.execute(database.db);
  return database;
}

const numbers = async (db: Kysely<object>) => (await sql<{ n: number }>`select n from tally order by n`.execute(db)).rows.map((row) => row.n);
/** a statement that keeps SQLite busy for a few hundred milliseconds */
const slowCount = sql<{ n: number }>`with recursive r(i) as (select 1 union all select i + 1 from r where i < 3000000) select count(*) as n from r`;

describe('the embedded database\'s background connection', () => {
  it('runs a long statement while the event loop goes on (the embedded connection would hold it)', async () => {
    const database = await embedded();
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 1);
    try {
      // the thread started, so its start-up is not what is timed
      await sql`select 1`.execute(database.background);
      ticks = 0;
      const started = performance.now();
      const { rows } = await slowCount.execute(database.background);
      const threadMs = performance.now() - started;
      const threadTicks = ticks;
      ticks = 0;
      const onLoop = await slowCount.execute(database.db);
      expect(rows).toEqual([{ n: 3_000_000 }]);
      expect(onLoop.rows).toEqual(rows);
      // the loop ran its timers throughout the thread's statement, and none during the embedded one
      expect(threadMs).toBeGreaterThan(50);
      expect(threadTicks).toBeGreaterThan(threadMs / 10);
      expect(ticks).toBeLessThanOrEqual(1);
    } finally {
      clearInterval(ticking);
    }
  });

  it('writes what the embedded connection reads, and reads what it wrote', async () => {
    const database = await embedded();
    await sql`insert into tally (n) values (1)`.execute(database.db);
    const inserted = await sql`insert into tally (n, note) values (2, ${Buffer.from('two')})`.execute(database.background);
    expect(inserted.numAffectedRows).toBe(1n);
    expect(await numbers(database.db)).toEqual([1, 2]);
    expect(await numbers(database.background)).toEqual([1, 2]);
    const deleted = await sql`delete from tally where n >= 1`.execute(database.background);
    expect(deleted.numAffectedRows).toBe(2n);
    expect(await numbers(database.db)).toEqual([]);
  });

  it('commits a transaction whole and rolls one back whole', async () => {
    const database = await embedded();
    await database.background.transaction().execute(async (trx) => {
      await sql`insert into tally (n) values (1)`.execute(trx);
      await sql`insert into tally (n) values (2)`.execute(trx);
    });
    await expect(
      database.background.transaction().execute(async (trx) => {
        await sql`insert into tally (n) values (3)`.execute(trx);
        throw new Error('changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    expect(await numbers(database.db)).toEqual([1, 2]);
  });

  it('waits for the embedded connection\'s write lock on its thread, then writes', async () => {
    const database = await embedded();
    let background: Promise<unknown> | undefined;
    await database.db.transaction().execute(async (trx) => {
      await sql`insert into tally (n) values (1)`.execute(trx);
      // sent while this transaction holds the lock: it waits on its thread, the loop goes on
      background = sql`insert into tally (n) values (2)`.execute(database.background);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await numbers(trx)).toEqual([1]);
    });
    await background;
    expect(await numbers(database.db)).toEqual([1, 2]);
  });

  it('fails a statement SQLite refuses with SQLite\'s code, and runs the next one', async () => {
    const database = await embedded();
    await sql`insert into tally (n) values (1)`.execute(database.background);
    await expect(sql`insert into tally (n) values (1)`.execute(database.background)).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    await expect(sql`select n from nowhere`.execute(database.background)).rejects.toThrow(/no such table/);
    await sql`insert into tally (n) values (2)`.execute(database.background);
    expect(await numbers(database.db)).toEqual([1, 2]);
  });

  it('fails the statements of a thread that could not start, clearly', async () => {
    const dir = newDir();
    const db = new Kysely<object>({ dialect: new SqliteThreadDialect(path.join(dir, 'workyard.sqlite'), { driver: path.join(dir, 'no-such-driver.js') }) });
    closers.push(() => db.destroy());
    await expect(sql`select 1`.execute(db)).rejects.toThrow(/the SQLite thread failed: Cannot find module/);
  });
});
