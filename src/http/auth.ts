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
