// Fields Workyard keeps with every blob beside its user metadata — its sha-256 and its expiry —
// under reserved metadata names, so that each store (a disk file's trailer, S3 user metadata, the
// write-behind fast tier) carries them the way it already carries metadata, and a blob that moves
// from the fast tier to the store keeps them.
import type { BlobMeta } from './contract.js';

const SHA256 = 'workyard-sha256';
const EXPIRES_AT = 'workyard-expires-at';

/** The metadata to store: the user's, with the reserved fields set. */
export function withStoredFields(metadata: Record<string, string> | undefined, fields: { sha256?: Buffer | string; expiresAt?: Date }): Record<string, string> | undefined {
  const result: Record<string, string> = { ...metadata };
  if (fields.sha256 !== undefined) result[SHA256] = typeof fields.sha256 === 'string' ? fields.sha256 : fields.sha256.toString('hex');
  if (fields.expiresAt !== undefined) result[EXPIRES_AT] = String(fields.expiresAt.getTime());
  return Object.keys(result).length ? result : undefined;
}

/** BlobMeta's metadata, sha256 and expiresAt from what a store kept. */
export function splitStoredFields(stored: Record<string, string> | undefined): Pick<BlobMeta, 'metadata' | 'sha256' | 'expiresAt'> {
  if (!stored) return {};
  const { [SHA256]: sha256, [EXPIRES_AT]: expiresAt, ...metadata } = stored;
  const expiresMs = expiresAt === undefined ? NaN : Number(expiresAt);
  return {
    ...(Object.keys(metadata).length ? { metadata } : {}),
    ...(sha256 ? { sha256 } : {}),
    ...(Number.isFinite(expiresMs) ? { expiresAt: new Date(expiresMs) } : {}),
  };
}

export const hasExpired = (meta: Pick<BlobMeta, 'expiresAt'>, now = Date.now()) => meta.expiresAt !== undefined && meta.expiresAt.getTime() <= now;
