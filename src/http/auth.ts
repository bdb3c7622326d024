// Admin and destructive routes need `Authorization: Bearer <WORKYARD_API_KEY>` when a key is set.
// Keys are compared as SHA-256 digests with timingSafeEqual: constant time whatever their lengths.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

export function adminGuard(apiKey: string | undefined) {
  const expected = apiKey ? digest(apiKey) : null;
  return async function requireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!expected) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1].trim()), expected)) {
      throw new AppError('unauthorized', 'this route needs Authorization: Bearer <WORKYARD_API_KEY>', { field: 'authorization' });
    }
  };
}

/** Whether the request carries the API key; false when none is configured (no one holds it then). */
export function presentsApiKey(request: FastifyRequest, apiKey: string | undefined): boolean {
  if (!apiKey) return false;
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1].trim()), digest(apiKey));
}
