// Admin and destructive routes need `Authorization: Bearer <WORKYARD_API_KEY>` when a key is set.
// Keys are compared as SHA-256 digests with timingSafeEqual: constant time whatever their lengths.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether a request carries the API key, as a function made once per key (its digest computed
 * once); false for every request when no key is configured (no one holds it then).
 */
export function apiKeyCheck(apiKey: string | undefined): (request: FastifyRequest) => boolean {
  if (!apiKey) return () => false;
  const expected = digest(apiKey);
  return (request) => {
    const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1].trim()), expected);
  };
}

export function adminGuard(apiKey: string | undefined) {
  const presentsKey = apiKeyCheck(apiKey);
  return async function requireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!apiKey) return;
    if (!presentsKey(request)) {
      throw new AppError('unauthorized', 'this route needs Authorization: Bearer <WORKYARD_API_KEY>', { field: 'authorization' });
    }
  };
}
