// What a write's headers ask of it: the version it may replace (If-Match, If-None-Match; RFC 9110
// §13.1), the digests its bytes must have (Content-MD5, Repr-Digest and Content-Digest of RFC
// 9530, x-amz-checksum-sha256), and when it expires (Expires). A malformed header is a 400 naming
// it, never ignored: a client that asked for a check must not get a write without it.
import type { IncomingHttpHeaders } from 'node:http';
import { validationError } from '../../errors.js';
import type { DigestCheck } from '../../infra/blobstore/contract.js';
import type { WriteConditions } from './blob-service.js';

const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** the longest a blob may be kept from now: beyond it, an expiry is more likely a mistake (ms or a year typo) */
const MAX_EXPIRY_MS = 10 * 365 * 24 * 3600 * 1000;

const headerOf = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

function entityTags(header: string, name: string): '*' | string[] {
  if (header.trim() === '*') return '*';
  const tags = header.split(',').map((tag) => tag.trim()).filter(Boolean);
  if (!tags.length || tags.some((tag) => !ENTITY_TAG.test(tag))) throw validationError(name, `${name} must be * or entity tags such as "5d41402abc4b2a76b9719d911017c592"`);
  return tags;
}

export function writeConditionsOf(headers: IncomingHttpHeaders): WriteConditions | undefined {
  const ifMatch = headerOf(headers, 'if-match');
  const ifNoneMatch = headerOf(headers, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return {
    ...(ifMatch !== undefined ? { ifMatch: entityTags(ifMatch, 'if-match') } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch: entityTags(ifNoneMatch, 'if-none-match') } : {}),
  };
}

function base64Digest(value: string, header: string, bytes: number): Buffer {
  const trimmed = value.trim();
  const decoded = BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (!decoded || decoded.length !== bytes) throw validationError(header, `${header} must be the base64 of a ${bytes}-byte digest`);
  return decoded;
}

/**
 * `sha-256=:<base64>:` from an RFC 9530 dictionary; other algorithms are skipped (the RFC lets a
 * recipient ignore those it does not support), a malformed member is not.
 */
function structuredSha256(value: string, header: string): Buffer | undefined {
  let found: Buffer | undefined;
  for (const member of value.split(',')) {
    const match = /^\s*([a-z0-9*_.-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*$/.exec(member);
    if (!match) throw validationError(header, `${header} must be a list of algorithm=:base64: members, e.g. sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`);
    if (match[1] === 'sha-256') found = base64Digest(match[2], header, 32);
  }
  return found;
}

export function digestChecksOf(headers: IncomingHttpHeaders): DigestCheck[] | undefined {
  const checks: DigestCheck[] = [];
  const md5 = headerOf(headers, 'content-md5');
  if (md5 !== undefined) checks.push({ algorithm: 'md5', expected: base64Digest(md5, 'content-md5', 16), header: 'content-md5' });
  // a PUT's body is the representation (no Content-Encoding is applied by us): both digests cover the same bytes
  for (const header of ['repr-digest', 'content-digest']) {
    const value = headerOf(headers, header);
    const expected = value === undefined ? undefined : structuredSha256(value, header);
    if (expected) checks.push({ algorithm: 'sha256', expected, header });
  }
  const amz = headerOf(headers, 'x-amz-checksum-sha256');
  if (amz !== undefined) checks.push({ algorithm: 'sha256', expected: base64Digest(amz, 'x-amz-checksum-sha256', 32), header: 'x-amz-checksum-sha256' });
  return checks.length ? checks : undefined;
}

/** The `Expires` of a put: an HTTP date in the future, at most ten years ahead. */
export function expiryOf(headers: IncomingHttpHeaders, now = Date.now()): Date | undefined {
  const value = headerOf(headers, 'expires');
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  if (!Number.isFinite(at)) throw validationError('expires', 'Expires must be an HTTP date, e.g. Wed, 21 Oct 2026 07:28:00 GMT');
  return expiryAt(at, now, 'expires');
}

/** An expiry `seconds` from now (the JSON route's expires_in). */
export const expiryIn = (seconds: number | undefined, now = Date.now()): Date | undefined => (seconds === undefined ? undefined : expiryAt(now + seconds * 1000, now, 'expires_in'));

function expiryAt(at: number, now: number, field: string): Date {
  if (at <= now) throw validationError(field, `${field} must be in the future`);
  if (at - now > MAX_EXPIRY_MS) throw validationError(field, `${field} must be at most ten years from now`);
  return new Date(at);
}

/** RFC 9530's Repr-Digest of a blob's sha-256 (hex as kept). */
export const reprDigest = (sha256Hex: string) => `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
