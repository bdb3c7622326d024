// Links that expire: a URL to one blob, for one method, until a time, signed with HMAC-SHA-256 by
// WORKYARD_SIGNING_KEY (or a key made once and kept in the database, so every API node shares it).
// Nothing is stored per link, so a link works on every node, and each key in the list verifies
// (rotation: put the new key first, drop the old one once its links have expired). The query
// parameters are named like nothing a route takes: wy-method, wy-expires (unix seconds),
// wy-max-bytes (PUT only), wy-signature (base64url).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

export type LinkMethod = 'GET' | 'PUT';

export interface LinkGrant {
  method: LinkMethod;
  key: string;
  /** unix seconds */
  expires: number;
  /** PUT: the largest body the link takes */
  maxBytes?: number;
}

export const LINK_PARAMS = { method: 'wy-method', expires: 'wy-expires', maxBytes: 'wy-max-bytes', signature: 'wy-signature' } as const;

/** Why a link was refused, in the 403's `reason`. */
export type LinkRefusal = 'expired' | 'bad-signature' | 'wrong-method' | 'malformed';

export function newSigningKey(): string {
  return randomBytes(32).toString('base64url');
}

function signatureOf(secret: string, grant: LinkGrant): Buffer {
  return createHmac('sha256', secret).update(`workyard-link\n${grant.method}\n${grant.key}\n${grant.expires}\n${grant.maxBytes ?? ''}`).digest();
}

/** The link's query string (without the leading ?), signed with the first key. */
export function signLink(keys: readonly string[], grant: LinkGrant): string {
  const query = new URLSearchParams({ [LINK_PARAMS.method]: grant.method, [LINK_PARAMS.expires]: String(grant.expires) });
  if (grant.maxBytes !== undefined) query.set(LINK_PARAMS.maxBytes, String(grant.maxBytes));
  query.set(LINK_PARAMS.signature, signatureOf(keys[0], grant).toString('base64url'));
  return query.toString();
}

/** Whether the request carries a link at all (its signature parameter). */
export function carriesLink(request: FastifyRequest): boolean {
  return typeof (request.query as Record<string, unknown> | undefined)?.[LINK_PARAMS.signature] === 'string';
}

const refused = (reason: LinkRefusal, message: string) => new AppError('forbidden', `the signed link is refused: ${message}`, { reason });

/**
 * The grant of a link the request carries for `key`, checked: its signature against every key,
 * its method against the request's (HEAD goes with GET), its expiry against the clock. Throws a
 * 403 naming the reason otherwise.
 */
export function verifyLink(keys: readonly string[], request: FastifyRequest, key: string, now = Date.now()): LinkGrant {
  const query = request.query as Record<string, unknown>;
  const method = query[LINK_PARAMS.method];
  const expires = Number(query[LINK_PARAMS.expires]);
  const maxRaw = query[LINK_PARAMS.maxBytes];
  const signature = query[LINK_PARAMS.signature];
  if ((method !== 'GET' && method !== 'PUT') || !Number.isSafeInteger(expires) || typeof signature !== 'string' || (maxRaw !== undefined && !/^\d{1,15}$/.test(String(maxRaw)))) {
    throw refused('malformed', `its ${Object.values(LINK_PARAMS).join(', ')} parameters are not what a link carries`);
  }
  const grant: LinkGrant = { method, key, expires, ...(maxRaw !== undefined ? { maxBytes: Number(maxRaw) } : {}) };
  const given = Buffer.from(signature, 'base64url');
  // every key is tried whatever matches first: the time taken says nothing about which key signed
  let valid = false;
  for (const secret of keys) {
    const expected = signatureOf(secret, grant);
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  if (!valid) throw refused('bad-signature', 'it was altered, is for another blob, or was signed with a key this server no longer has');
  const requestMethod = request.method === 'HEAD' ? 'GET' : request.method;
  if (requestMethod !== method) throw refused('wrong-method', `it is for ${method}, not ${request.method}`);
  if (expires * 1000 <= now) throw refused('expired', `it expired at ${new Date(expires * 1000).toISOString()}`);
  return grant;
}
