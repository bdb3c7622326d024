// Who may read and write blobs (WORKYARD_BLOBS_READ_ACCESS, WORKYARD_BLOBS_WRITE_ACCESS): `open`,
// anyone (the default, as before); `key`, the API key holder, or a signed link for that blob and
// method (signed-links.ts); `token` (writes), those, or a write token for the key's prefix and the
// method (write-tokens.ts). A link presented is always checked, whatever the mode: a bad one is a
// 403 naming why, never quietly ignored. Every route that reads, writes or deletes a blob asks here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { keptSecret } from '../../infra/db/kept-secret.js';
import { type LinkGrant, carriesLink, newSigningKey, verifyLink } from './signed-links.js';
import { type TokenMethod, WriteTokenStore, looksLikeWriteToken } from './write-tokens.js';

/** read: GET, HEAD, /get/; write: PUT, /put/, uploads; delete: DELETE (the API key, or a token allowing DELETE) */
export type BlobAccessKind = 'read' | 'write' | 'delete';

export class BlobAccess {
  private keys: readonly string[] = [];
  readonly tokens: WriteTokenStore;

  constructor(private readonly ctx: AppContext) {
    this.tokens = new WriteTokenStore(ctx.database);
  }

  /** Loads the signing keys: the configured ones, else the one kept in the database (made by the first node to ask). */
  async start(): Promise<void> {
    const configured = this.ctx.config.blobs.signingKeys;
    if (configured) {
      this.keys = configured;
      return;
    }
    const secret = await keptSecret(this.ctx.database, 'blobs_signing_keys', newSigningKey);
    this.keys = [secret];
  }

  get writeMode(): 'open' | 'key' | 'token' {
    return this.ctx.config.blobs.writeAccess;
  }

  get signingKeys(): readonly string[] {
    if (!this.keys.length) throw new Error('BlobAccess.start() was not awaited');
    return this.keys;
  }

  private modeOf(kind: BlobAccessKind): 'open' | 'key' | 'token' {
    if (kind === 'read') return this.ctx.config.blobs.readAccess;
    // deleting always needed the API key; in token mode a token may allow it too
    if (kind === 'delete') return this.ctx.config.blobs.writeAccess === 'token' ? 'token' : 'key';
    return this.ctx.config.blobs.writeAccess;
  }

  /**
   * Throws 401/403 when the request may not `kind` the blob `key`; resolves with the link's grant
   * when it came with a valid one (a PUT link's max_bytes applies to its body).
   */
  async authorize(request: FastifyRequest, reply: FastifyReply, kind: BlobAccessKind, key: string): Promise<LinkGrant | undefined> {
    if (carriesLink(request)) return verifyLink(this.signingKeys, request, key);
    const mode = this.modeOf(kind);
    if (mode === 'open') return undefined;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (mode === 'token' && bearer !== undefined && looksLikeWriteToken(bearer)) {
      await this.checkToken(bearer, kind === 'delete' ? 'DELETE' : 'PUT', key);
      return undefined;
    }
    await this.ctx.requireAdmin(request, reply).catch((error: unknown) => {
      if (error instanceof AppError) {
        const setting = kind === 'read' ? 'WORKYARD_BLOBS_READ_ACCESS' : 'WORKYARD_BLOBS_WRITE_ACCESS';
        const alternatives = mode === 'token' ? 'a write token or a signed link' : kind === 'delete' ? 'nothing else' : 'a signed link';
        throw new AppError('unauthorized', `${kind === 'read' ? 'reading' : kind === 'delete' ? 'deleting' : 'writing'} blobs needs Authorization: Bearer <WORKYARD_API_KEY> or ${alternatives} (${setting}=${this.ctx.config.blobs[kind === 'read' ? 'readAccess' : 'writeAccess']})`, { field: 'authorization' });
      }
      throw error;
    });
    return undefined;
  }

  /** A write token allows this method on this key, or a 401 (unknown) / 403 (not for this) naming why. */
  private async checkToken(bearer: string, method: TokenMethod, key: string): Promise<void> {
    const token = await this.tokens.find(bearer);
    if (!token) throw new AppError('unauthorized', 'this write token is not known here (revoked, or never made)', { field: 'authorization' });
    const refuse = (reason: string, message: string) => new AppError('forbidden', `the write token does not allow this: ${message}`, { reason });
    if (token.expiresAt !== null && token.expiresAt <= Date.now()) throw refuse('expired', `it expired at ${new Date(token.expiresAt).toISOString()}`);
    if (!token.methods.includes(method)) throw refuse('method', `it allows ${token.methods.join(' and ')}, not ${method}`);
    if (!token.prefixes.some((prefix) => key.startsWith(prefix))) throw refuse('prefix', `the key is under none of its prefixes (${token.prefixes.map((p) => JSON.stringify(p)).join(', ')})`);
  }
}
