// Who may read and write blobs (WORKYARD_BLOBS_READ_ACCESS, WORKYARD_BLOBS_WRITE_ACCESS): `open`,
// anyone (the default, as before); `key`, the API key holder, or a signed link for that blob and
// method (signed-links.ts). A link presented is always checked, whatever the mode: a bad one is a
// 403 naming why, never quietly ignored. Every route that reads or writes a blob asks here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { withTables } from '../../infra/db/database.js';
import { type LinkGrant, carriesLink, newSigningKey, verifyLink } from './signed-links.js';

export type BlobAccessKind = 'read' | 'write';

export class BlobAccess {
  private keys: readonly string[] = [];

  constructor(private readonly ctx: AppContext) {}

  /** Loads the signing keys: the configured ones, else the one kept in the database (made by the first node to ask). */
  async start(): Promise<void> {
    const configured = this.ctx.config.blobs.signingKeys;
    if (configured) {
      this.keys = configured;
      return;
    }
    const database = withTables<{ blobs_signing_keys: { id: number; secret: string } }>(this.ctx.database);
    const secret = await database.run(async (db) => {
      await db.insertInto('blobs_signing_keys').values({ id: 1, secret: newSigningKey() }).onConflict((oc) => oc.column('id').doNothing()).execute();
      return (await db.selectFrom('blobs_signing_keys').select('secret').where('id', '=', 1).executeTakeFirstOrThrow()).secret;
    });
    this.keys = [secret];
  }

  get signingKeys(): readonly string[] {
    if (!this.keys.length) throw new Error('BlobAccess.start() was not awaited');
    return this.keys;
  }

  private modeOf(kind: BlobAccessKind): 'open' | 'key' {
    return kind === 'read' ? this.ctx.config.blobs.readAccess : this.ctx.config.blobs.writeAccess;
  }

  /**
   * Throws 401/403 when the request may not `kind` the blob `key`; resolves with the link's grant
   * when it came with a valid one (a PUT link's max_bytes applies to its body).
   */
  async authorize(request: FastifyRequest, reply: FastifyReply, kind: BlobAccessKind, key: string): Promise<LinkGrant | undefined> {
    if (carriesLink(request)) return verifyLink(this.signingKeys, request, key);
    if (this.modeOf(kind) === 'open') return undefined;
    await this.ctx.requireAdmin(request, reply).catch((error: unknown) => {
      if (error instanceof AppError) {
        throw new AppError('unauthorized', `${kind === 'read' ? 'reading' : 'writing'} blobs needs Authorization: Bearer <WORKYARD_API_KEY> or a signed link (WORKYARD_BLOBS_${kind.toUpperCase()}_ACCESS=key)`, { field: 'authorization' });
      }
      throw error;
    });
    return undefined;
  }
}
