// The lock a conditional write of a blob holds from its check to its write (If-Match, If-None-Match:
// check the version there, then write: two writers must not both pass the check). Within one
// process, writers of a key queue in memory first, so only one of them at a time asks further.
// Across processes: on PostgreSQL (API nodes on many machines) a row in the SQL database, as the
// resumable uploads' locks; on SQLite every process is on one machine with one data directory, and
// a lock file there (proper-lockfile) costs a tenth of two SQLite writes through Kysely (a 1 KB
// conditional PUT paid 0.7 × a plain one with the row).
//
// A lock is a row, taken by inserting it (or over an expired one) and renewed while held: a node
// that dies holding one frees it within the lease.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { AppError } from '../../errors.js';
import { type Database, withTables } from '../../infra/db/database.js';

export interface KeyLocks {
  /** Runs `work` while no other holder of the key's lock (in any process sharing it) runs. */
  withLock<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/** Writers of one key, one at a time, within this process. */
export class LocalKeyLocks implements KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export interface BlobKeyLockRow {
  /** sha-256 of the key: keys are up to 1 KiB, an index entry need not be */
  lock_id: string;
  holder: string;
  /** epoch ms */
  expires_at: number;
}

interface KeyLockTables {
  blobs_key_locks: BlobKeyLockRow;
}

export interface SqlKeyLocksOptions {
  /** a lock not renewed for this long is free (default 15 s) */
  ttlMs?: number;
  /** a writer waiting longer than this gets a 409 (default 30 s) */
  waitMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SqlKeyLocks implements KeyLocks {
  private readonly local = new LocalKeyLocks();
  private readonly database: Database<KeyLockTables>;
  private readonly ttlMs: number;
  private readonly waitMs: number;

  constructor(database: Database, options: SqlKeyLocksOptions = {}) {
    this.database = withTables<KeyLockTables>(database);
    this.ttlMs = options.ttlMs ?? 15_000;
    this.waitMs = options.waitMs ?? 30_000;
  }

  withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.local.withLock(key, async () => {
      const lockId = createHash('sha256').update(key).digest('hex');
      const holder = randomBytes(12).toString('hex');
      await this.take(key, lockId, holder);
      // renewed while a long body streams in under the lock
      const renewal = setInterval(() => void this.renew(lockId, holder).catch(() => {}), this.ttlMs / 3);
      renewal.unref();
      try {
        return await work();
      } finally {
        clearInterval(renewal);
        await this.database.run((db) => db.deleteFrom('blobs_key_locks').where('lock_id', '=', lockId).where('holder', '=', holder).execute());
      }
    });
  }

  private async take(key: string, lockId: string, holder: string): Promise<void> {
    const giveUpAt = Date.now() + this.waitMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const now = Date.now();
      const taken = await this.database.run((db) =>
        db
          .insertInto('blobs_key_locks')
          .values({ lock_id: lockId, holder, expires_at: now + this.ttlMs })
          .onConflict((oc) => oc.column('lock_id').doUpdateSet({ holder, expires_at: now + this.ttlMs }).where('blobs_key_locks.expires_at', '<', now))
          .returning('holder')
          .executeTakeFirst(),
      );
      if (taken?.holder === holder) return;
      if (Date.now() > giveUpAt) throw new AppError('conflict', `blob ${key} is being written by another conditional request; try again`, { field: 'key' });
      await sleep(wait);
    }
  }

  private async renew(lockId: string, holder: string): Promise<void> {
    await this.database.run((db) => db.updateTable('blobs_key_locks').set({ expires_at: Date.now() + this.ttlMs }).where('lock_id', '=', lockId).where('holder', '=', holder).execute());
  }
}

export interface FileKeyLocksOptions {
  /** a lock whose holder stopped refreshing it for this long is taken over (default 15 s) */
  staleMs?: number;
  /** a writer waiting longer than this gets a 409 (default 30 s) */
  waitMs?: number;
}

/** Locks as files under `dir` (one per key, named by the key's sha-256), shared by the processes of one machine. */
export class FileKeyLocks implements KeyLocks {
  private readonly local = new LocalKeyLocks();
  private readonly staleMs: number;
  private readonly waitMs: number;

  constructor(
    private readonly dir: string,
    options: FileKeyLocksOptions = {},
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.staleMs = options.staleMs ?? 15_000;
    this.waitMs = options.waitMs ?? 30_000;
  }

  withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.local.withLock(key, async () => {
      const file = path.join(this.dir, createHash('sha256').update(key).digest('hex'));
      const giveUpAt = Date.now() + this.waitMs;
      let release: () => Promise<void>;
      for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
        try {
          // realpath false: the file need not exist (the lock is a directory beside it)
          release = await lockfile.lock(file, { realpath: false, stale: this.staleMs, update: this.staleMs / 3, onCompromised: () => {} });
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== 'ELOCKED') throw error;
          if (Date.now() > giveUpAt) throw new AppError('conflict', `blob ${key} is being written by another conditional request; try again`, { field: 'key' });
          await sleep(wait);
        }
      }
      try {
        return await work();
      } finally {
        await release().catch(() => {});
      }
    });
  }
}
