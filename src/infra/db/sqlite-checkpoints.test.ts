// The embedded database's checkpoints on their own thread: the committing connection never
// checkpoints, the thread keeps the WAL from growing without end, closing removes the WAL, and a
// thread that cannot run gives the checkpoints back to SQLite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointOffThread } from './sqlite-checkpoints.js';
import { openDatabase } from './database.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function walDatabase(): { raw: Database.Database; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-checkpoints-'));
  dirs.push(dir);
  const file = path.join(dir, 'workyard.sqlite');
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec('create table rows (id integer primary key, bytes blob not null)');
  return { raw, file };
}

const walBytes = (file: string) => fs.statSync(`${file}-wal`).size;
const turn = () => new Promise((resolve) => setTimeout(resolve, 5));

/** `transactions` of 100 kB each, with a short wait between them. */
async function write(raw: Database.Database, transactions: number): Promise<void> {
  const insert = raw.prepare('insert into rows (bytes) values (?)');
  for (let done = 0; done < transactions; done++) {
    raw.transaction(() => {
      for (let i = 0; i < 25; i++) insert.run(Buffer.alloc(4_000, i));
    })();
    await turn();
  }
}

describe('checkpoints on a thread of their own', () => {
  it('turns off the connection’s automatic checkpoints, and the thread keeps the WAL small', async () => {
    const { raw, file } = walDatabase();
    const thread = checkpointOffThread(raw, file, { startAtWalBytes: 256 * 1024, watchEveryMs: 10, checkpointEveryMs: 10 });
    expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // 40 MB written: with nobody checkpointing the WAL would hold all of it
    await write(raw, 400);
    expect(thread.running).toBe(true);
    expect(walBytes(file)).toBeLessThan(8 * 1024 * 1024);
    expect(raw.prepare('select count(*) as n from rows').get()).toEqual({ n: 400 * 25 });
    await thread.close();
    raw.close();
    // the last connection closed checkpointed the rest and removed the WAL
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('starts no thread while the WAL stays small', async () => {
    const { raw, file } = walDatabase();
    const thread = checkpointOffThread(raw, file, { startAtWalBytes: 8 * 1024 * 1024, watchEveryMs: 10 });
    await write(raw, 10);
    expect(thread.running).toBe(false);
    await thread.close();
    raw.close();
  });

  it('gives the checkpoints back to SQLite when the thread cannot run', async () => {
    const { raw, file } = walDatabase();
    const thread = checkpointOffThread(raw, file, { startAtWalBytes: 0, watchEveryMs: 10, driver: path.join(os.tmpdir(), 'no-such-driver.js') });
    for (let tries = 0; raw.pragma('wal_autocheckpoint', { simple: true }) === 0; tries++) {
      expect(tries, 'the automatic checkpoints were not turned back on').toBeLessThan(500);
      await turn();
    }
    expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(1_000);
    expect(thread.running).toBe(false);
    await write(raw, 200);
    expect(walBytes(file)).toBeLessThan(8 * 1024 * 1024);
    await thread.close();
    raw.close();
  });

  it('is what the embedded database does, and closing it removes the WAL', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-checkpoints-'));
    dirs.push(dataDir);
    const database = openDatabase({ dataDir, timeoutMs: 1_000 });
    const file = path.join(dataDir, 'workyard.sqlite');
    // the pragma is per connection: the embedded one is asked through its own statements
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
    expect(rows[0].wal_autocheckpoint).toBe(0);
    await database.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });
});
