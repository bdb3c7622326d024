// The lock the tus server takes around each request to an upload, shared by every API node through
// the SQL database: @tus/server's own MemoryLocker only orders the requests of one process, and
// on S3 the request that resumes an upload may reach another node while the node of the cut
// request is still storing what it received (it would then append the same bytes twice).
//
// A lock is a row: taken by inserting it (or over an expired one), renewed while held, deleted on
// release. A request that waits marks the row, and the holder, which reads the mark when it
// renews, is asked to let go — what tus's locker contract asks for, so that a client resuming
// after a cut does not wait for the cut request to time out.
import { randomBytes } from 'node:crypto';
import type { Lock, Locker, RequestRelease } from '@tus/server';
import type { FastifyBaseLogger } from 'fastify';
import { type Database, withTables } from '../../infra/db/database.js';

export interface UploadLockRow {
  upload_id: string;
  holder: string;
  expires_at: number;
  release_requested: number;
}

export interface UploadLockTables {
  blobs_upload_locks: UploadLockRow;
}

export interface UploadLockOptions {
  /** a lock not renewed for this long is free (a node that died holding it) */
  ttlMs?: number;
  /** how often a holder renews its lock and reads the release mark */
  renewMs?: number;
  /** how often a waiter tries again */
  pollMs?: number;
  /** a waiter gives up after this long (tus answers 500 "failed to acquire lock") */
  acquireTimeoutMs?: number;
  log?: FastifyBaseLogger;
}

export class SqlUploadLocker implements Locker {
  readonly database: Database<UploadLockTables>;
  readonly ttlMs: number;
  readonly renewMs: number;
  readonly pollMs: number;
  readonly acquireTimeoutMs: number;

  constructor(
    database: Database,
    readonly options: UploadLockOptions = {},
  ) {
    this.database = withTables<UploadLockTables>(database);
    this.ttlMs = options.ttlMs ?? 10_000;
    this.renewMs = options.renewMs ?? 1_000;
    this.pollMs = options.pollMs ?? 100;
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
  }

  newLock(id: string): Lock {
    return new SqlUploadLock(this, id);
  }
}

class SqlUploadLock implements Lock {
  private readonly holder = randomBytes(12).toString('hex');
  private renewal: NodeJS.Timeout | null = null;

  constructor(
    private readonly locker: SqlUploadLocker,
    private readonly id: string,
  ) {}

  async lock(stopSignal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const giveUpAt = Date.now() + this.locker.acquireTimeoutMs;
    for (;;) {
      if (await this.tryTake()) break;
      // tus's own error (the server answers it as such), from the module already loaded by whoever locks
      if (stopSignal.aborted || Date.now() > giveUpAt) throw (await import('@tus/server')).ERRORS.ERR_LOCK_TIMEOUT;
      await this.askHolderToRelease();
      await new Promise((resolve) => setTimeout(resolve, this.locker.pollMs));
    }
    this.renewal = setInterval(() => {
      this.renew(requestRelease).catch((error) => this.locker.options.log?.warn({ err: error, upload: this.id }, 'renewing an upload lock failed'));
    }, this.locker.renewMs);
    this.renewal.unref();
  }

  async unlock(): Promise<void> {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    await this.locker.database.run((db) => db.deleteFrom('blobs_upload_locks').where('upload_id', '=', this.id).where('holder', '=', this.holder).execute());
  }

  /** Inserts the row, or takes over one whose holder stopped renewing; true when this lock holds it now. */
  private async tryTake(): Promise<boolean> {
    const now = Date.now();
    const row = { upload_id: this.id, holder: this.holder, expires_at: now + this.locker.ttlMs, release_requested: 0 };
    await this.locker.database.run((db) =>
      db
        .insertInto('blobs_upload_locks')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('upload_id')
            .doUpdateSet({ holder: row.holder, expires_at: row.expires_at, release_requested: 0 })
            .where('blobs_upload_locks.expires_at', '<', now),
        )
        .execute(),
    );
    const held = await this.locker.database.run((db) => db.selectFrom('blobs_upload_locks').select('holder').where('upload_id', '=', this.id).executeTakeFirst());
    return held?.holder === this.holder;
  }

  private async askHolderToRelease(): Promise<void> {
    await this.locker.database.run((db) => db.updateTable('blobs_upload_locks').set({ release_requested: 1 }).where('upload_id', '=', this.id).where('holder', '!=', this.holder).execute());
  }

  /** Extends the lock, and lets go when a waiting request asked for it. */
  private async renew(requestRelease: RequestRelease): Promise<void> {
    const row = await this.locker.database.run(async (db) => {
      await db.updateTable('blobs_upload_locks').set({ expires_at: Date.now() + this.locker.ttlMs }).where('upload_id', '=', this.id).where('holder', '=', this.holder).execute();
      return db.selectFrom('blobs_upload_locks').select('release_requested').where('upload_id', '=', this.id).where('holder', '=', this.holder).executeTakeFirst();
    });
    if (row?.release_requested) await requestRelease();
  }
}
