// Key locks, each kind as two processes would hold it (two instances share only the file system
// or the database): holders of one key never overlap, other keys do not wait, and a holder that
// died frees its lock once it is stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../infra/db/database.js';
import { migrateToLatest } from '../../infra/db/migrations.js';
import { FileKeyLocks, type KeyLocks, SqlKeyLocks } from './key-locks.js';
import { writeMigrations } from './write-migrations.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-key-locks-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sqlPair(): Promise<[KeyLocks, KeyLocks]> {
  const database = openDatabase({ dataDir: fs.mkdtempSync(path.join(dir, 'sql-')), timeoutMs: 5_000 });
  await migrateToLatest(database, [writeMigrations]);
  return [new SqlKeyLocks(database), new SqlKeyLocks(database)];
}

const kinds: { name: string; pair: () => Promise<[KeyLocks, KeyLocks]> }[] = [
  { name: 'lock files (SQLite shape)', pair: async () => [new FileKeyLocks(path.join(dir, 'files')), new FileKeyLocks(path.join(dir, 'files'))] },
  { name: 'rows in the SQL database', pair: sqlPair },
];

describe.each(kinds)('key locks: $name', ({ pair }) => {
  it('lets one holder of a key in at a time, across instances, and other keys through', async () => {
    const [a, b] = await pair();
    let inside = 0;
    let most = 0;
    const hold = (locks: KeyLocks) =>
      locks.withLock('k', async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(5);
        inside--;
      });
    const other = b.withLock('other', async () => 'not waited for');
    await Promise.all(Array.from({ length: 20 }, (_, i) => hold(i % 2 ? a : b)));
    expect(most).toBe(1);
    expect(await other).toBe('not waited for');
  });

  it('releases the lock when the work throws', async () => {
    const [a, b] = await pair();
    await expect(a.withLock('thrown', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await b.withLock('thrown', async () => 'taken')).toBe('taken');
  });
});

describe('key locks: a holder that died', () => {
  it('is taken over once its lock file is stale', async () => {
    const locks = path.join(dir, 'stale');
    const dead = new FileKeyLocks(locks, { staleMs: 2_000 });
    // a process that dies holding the lock never releases it: its work never ends
    void dead.withLock('k', () => new Promise(() => {}));
    await sleep(50);
    // it stops refreshing the lock as a dead process would: make the lock look old
    const [lock] = fs.readdirSync(locks).filter((name) => name.endsWith('.lock'));
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(path.join(locks, lock), old, old);
    const started = Date.now();
    expect(await new FileKeyLocks(locks, { staleMs: 2_000 }).withLock('k', async () => 'taken over')).toBe('taken over');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
