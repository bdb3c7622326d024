// The fast tier in the SQL database: SQLite in the embedded shape (the file next to the blobs),
// PostgreSQL in the scaled one. A committed row is the acknowledgement: it survives the process.
import { sql } from 'kysely';
import { type Database, withTables } from '../db/database.js';
import type { ClaimResult, FastTier, PendingEntry, PendingMeta } from './contract.js';

const TABLE = 'fast_tier_pending';

interface Row {
  key: string;
  version: string;
  bytes?: Buffer | Uint8Array;
  size: number;
  etag: string;
  content_type: string;
  metadata: string | null;
  last_modified: number;
  upload_token: string | null;
  upload_lease_until: number | null;
}

export type FastTierTables = { fast_tier_pending: Omit<Row, 'bytes'> & { bytes: Buffer | Uint8Array; sweep_at: number } };

const META_COLUMNS = ['key', 'version', 'size', 'etag', 'content_type', 'metadata', 'last_modified'] as const;

function toMeta(row: Pick<Row, (typeof META_COLUMNS)[number]>): PendingMeta {
  return {
    key: row.key,
    version: row.version,
    size: Number(row.size),
    etag: row.etag,
    contentType: row.content_type,
    lastModified: Number(row.last_modified),
    ...(row.metadata ? { metadata: JSON.parse(row.metadata) as Record<string, string> } : {}),
  };
}

const toEntry = (row: Row): PendingEntry => ({ ...toMeta(row), bytes: Buffer.from(row.bytes as Uint8Array) });

export class SqlFastTier implements FastTier {
  readonly name: string;

  private readonly database: Database<FastTierTables>;

  constructor(database: Database) {
    this.database = withTables<FastTierTables>(database);
    this.name = `sql-${database.dialect}`;
  }

  /** A committed row survives the process: nothing to check. */
  async checkPersistence(): Promise<void> {}

  /** PostgreSQL compares text by its locale; keys are listed in byte order everywhere, as S3 does. */
  private get byteOrderedKey() {
    return this.database.dialect === 'postgres' ? sql<string>`key collate "C"` : sql<string>`key`;
  }

  async put(entry: PendingEntry, sweepAt: number): Promise<void> {
    const values = {
      key: entry.key,
      version: entry.version,
      bytes: entry.bytes,
      size: entry.size,
      etag: entry.etag,
      content_type: entry.contentType,
      metadata: entry.metadata ? JSON.stringify(entry.metadata) : null,
      last_modified: entry.lastModified,
      sweep_at: sweepAt,
    };
    await this.database.run((db) =>
      db
        .insertInto(TABLE)
        .values(values)
        // The upload lease is left alone: a newer version waits for the upload in flight.
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet((eb) => ({
            version: eb.ref('excluded.version'),
            bytes: eb.ref('excluded.bytes'),
            size: eb.ref('excluded.size'),
            etag: eb.ref('excluded.etag'),
            content_type: eb.ref('excluded.content_type'),
            metadata: eb.ref('excluded.metadata'),
            last_modified: eb.ref('excluded.last_modified'),
            sweep_at: eb.ref('excluded.sweep_at'),
          })),
        )
        .execute(),
    );
  }

  async get(key: string): Promise<PendingEntry | null> {
    const row = await this.database.run((db) => db.selectFrom(TABLE).selectAll().where('key', '=', key).executeTakeFirst());
    return row ? toEntry(row) : null;
  }

  async head(key: string): Promise<PendingMeta | null> {
    const row = await this.database.run((db) => db.selectFrom(TABLE).select(META_COLUMNS).where('key', '=', key).executeTakeFirst());
    return row ? toMeta(row) : null;
  }

  async claim(key: string, version: string | null, token: string, leaseUntil: number, now: number): Promise<ClaimResult> {
    const claimed = await this.database.run((db) => {
      let query = db
        .updateTable(TABLE)
        .set({ upload_token: token, upload_lease_until: leaseUntil })
        .where('key', '=', key)
        .where((eb) => eb.or([eb('upload_lease_until', 'is', null), eb('upload_lease_until', '<', now)]));
      if (version !== null) query = query.where('version', '=', version);
      return query.returningAll().executeTakeFirst();
    });
    if (claimed) return { outcome: 'claimed', entry: toEntry(claimed) };
    const current = await this.database.run((db) => db.selectFrom(TABLE).select(['version']).where('key', '=', key).executeTakeFirst());
    return current && (version === null || current.version === version) ? { outcome: 'busy' } : { outcome: 'gone' };
  }

  async finish(key: string, version: string, token: string): Promise<void> {
    const deleted = await this.database.run((db) =>
      db.deleteFrom(TABLE).where('key', '=', key).where('version', '=', version).where('upload_token', '=', token).executeTakeFirst(),
    );
    if (Number(deleted.numDeletedRows) === 0) await this.release(key, token);
  }

  async release(key: string, token: string): Promise<void> {
    await this.database.run((db) =>
      db.updateTable(TABLE).set({ upload_token: null, upload_lease_until: null }).where('key', '=', key).where('upload_token', '=', token).execute(),
    );
  }

  async deleteIfFree(key: string, now: number): Promise<'deleted' | 'none' | 'busy'> {
    const deleted = await this.database.run((db) =>
      db
        .deleteFrom(TABLE)
        .where('key', '=', key)
        .where((eb) => eb.or([eb('upload_lease_until', 'is', null), eb('upload_lease_until', '<', now)]))
        .executeTakeFirst(),
    );
    if (Number(deleted.numDeletedRows) > 0) return 'deleted';
    return (await this.head(key)) ? 'busy' : 'none';
  }

  async list(options: { prefix: string; cursor?: string; limit: number }): Promise<PendingMeta[]> {
    const ordered = this.byteOrderedKey;
    const rows = await this.database.run((db) => {
      let query = db.selectFrom(TABLE).select(META_COLUMNS);
      // substr counts characters on both dialects, as the spread counts code points.
      if (options.prefix) query = query.where(sql`substr(key, 1, ${[...options.prefix].length})`, '=', options.prefix);
      if (options.cursor !== undefined) query = query.where(ordered, '>', options.cursor);
      return query.orderBy(ordered).limit(options.limit).execute();
    });
    return rows.map(toMeta);
  }

  async takeDueForSweep(now: number, nextSweepAt: number, limit: number): Promise<{ key: string; version: string }[]> {
    const due = await this.database.run((db) =>
      db
        .selectFrom(TABLE)
        .select(['key', 'version', 'sweep_at'])
        .where('sweep_at', '<=', now)
        .where((eb) => eb.or([eb('upload_lease_until', 'is', null), eb('upload_lease_until', '<', now)]))
        .orderBy('sweep_at')
        .limit(limit)
        .execute(),
    );
    const taken: { key: string; version: string }[] = [];
    for (const row of due) {
      // Guarded by the sweep time read: of several sweepers, one moves it, and only that one queues.
      const moved = await this.database.run((db) =>
        db.updateTable(TABLE).set({ sweep_at: nextSweepAt }).where('key', '=', row.key).where('version', '=', row.version).where('sweep_at', '=', row.sweep_at).executeTakeFirst(),
      );
      if (Number(moved.numUpdatedRows) > 0) taken.push({ key: row.key, version: row.version });
    }
    return taken;
  }
}
