// Which blobs expire when, so that the sweep reads the few that are due rather than walking the
// store (on S3, a listing and a HEAD per object). A put with an expiry records it here before the
// bytes are stored: a crash between the two leaves a row whose blob is checked and dropped, never
// an expiring blob that no sweep finds. The row is only a hint: the blob's own expiry decides.
import { type Database, withTables } from '../../infra/db/database.js';

export interface BlobExpiryRow {
  key: string;
  /** epoch ms */
  expires_at: number;
}

interface ExpiryTables {
  blobs_expiries: BlobExpiryRow;
}

export class ExpiryIndex {
  private readonly database: Database<ExpiryTables>;

  constructor(database: Database) {
    this.database = withTables<ExpiryTables>(database);
  }

  async record(key: string, expiresAt: Date): Promise<void> {
    const at = expiresAt.getTime();
    await this.database.run((db) =>
      db
        .insertInto('blobs_expiries')
        .values({ key, expires_at: at })
        .onConflict((oc) => oc.column('key').doUpdateSet({ expires_at: at }))
        .execute(),
    );
  }

  /** Keys whose recorded expiry has passed, soonest first. */
  async due(now: number, limit: number): Promise<string[]> {
    const rows = await this.database.run((db) => db.selectFrom('blobs_expiries').select('key').where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute());
    return rows.map((row) => row.key);
  }

  /** After the sweep looked at the blob: gone or not expiring (null), or expiring later. */
  async settle(key: string, expiresAt: Date | null): Promise<void> {
    await this.database.run(async (db) => {
      if (expiresAt) await db.updateTable('blobs_expiries').set({ expires_at: expiresAt.getTime() }).where('key', '=', key).execute();
      else await db.deleteFrom('blobs_expiries').where('key', '=', key).execute();
    });
  }
}
