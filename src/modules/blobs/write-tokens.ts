// Write tokens (WORKYARD_BLOBS_WRITE_ACCESS=token): bearer secrets the admin makes for a client —
// "PUT and DELETE under users/42/, for a day" — so that a client writes its own keys without the
// API key. Only each token's SHA-256 is stored: the database never holds a usable secret, and the
// token is shown once, when made. Looked up by that digest on every write it is used for.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../../infra/db/database.js';
import { withTables } from '../../infra/db/database.js';

export type TokenMethod = 'PUT' | 'DELETE';

export interface WriteToken {
  id: string;
  prefixes: string[];
  methods: TokenMethod[];
  /** epoch ms; null: never */
  expiresAt: number | null;
  createdAt: number;
}

interface TokenRow {
  id: string;
  token_sha256: string;
  prefixes: string;
  methods: string;
  expires_at: number | null;
  created_at: number;
}

/** Tokens carry a prefix so that they are recognisable in logs and secret scanners. */
const TOKEN_PREFIX = 'wyt_';

export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex');

export function looksLikeWriteToken(bearer: string): boolean {
  return bearer.startsWith(TOKEN_PREFIX);
}

const toToken = (row: TokenRow): WriteToken => ({
  id: row.id,
  prefixes: JSON.parse(row.prefixes) as string[],
  methods: JSON.parse(row.methods) as TokenMethod[],
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  createdAt: Number(row.created_at),
});

export class WriteTokenStore {
  private readonly database: Database<{ blobs_write_tokens: TokenRow }>;

  constructor(database: Database) {
    this.database = withTables<{ blobs_write_tokens: TokenRow }>(database);
  }

  /** Makes a token; the secret is in the answer only. */
  async create(grant: { prefixes: string[]; methods: TokenMethod[]; expiresAt: number | null }): Promise<WriteToken & { token: string }> {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: TokenRow = {
      id: randomUUID(),
      token_sha256: tokenDigest(token),
      prefixes: JSON.stringify(grant.prefixes),
      methods: JSON.stringify(grant.methods),
      expires_at: grant.expiresAt,
      created_at: Date.now(),
    };
    await this.database.run((db) => db.insertInto('blobs_write_tokens').values(row).execute());
    return { ...toToken(row), token };
  }

  async find(token: string): Promise<WriteToken | null> {
    const row = await this.database.run((db) => db.selectFrom('blobs_write_tokens').selectAll().where('token_sha256', '=', tokenDigest(token)).executeTakeFirst());
    return row ? toToken(row) : null;
  }

  async list(): Promise<WriteToken[]> {
    const rows = await this.database.run((db) => db.selectFrom('blobs_write_tokens').selectAll().orderBy('created_at', 'asc').orderBy('id', 'asc').execute());
    return rows.map(toToken);
  }

  async revoke(id: string): Promise<boolean> {
    const result = await this.database.run((db) => db.deleteFrom('blobs_write_tokens').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }
}
