// The dashboard and the queue admin are operator pages behind WORKYARD_API_KEY. A browser cannot
// send a Bearer header by itself, so the key is also accepted as `?key=` (which sets a cookie) and
// from that cookie; every form is checked by the one admin guard, ctx.requireAdmin.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.js';

export const KEY_COOKIE = 'workyard_operator_key';

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function queryKey(request: FastifyRequest): string | undefined {
  const key = (request.query as Record<string, unknown> | undefined)?.key;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

export function operatorAccess(ctx: AppContext) {
  return async function requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!ctx.config.apiKey) return;
    const fromQuery = queryKey(request);
    const offered = fromQuery ?? readCookie(request.headers.cookie, KEY_COOKIE);
    // An explicit header wins; otherwise the offered key is checked exactly as a header would be.
    if (!request.headers.authorization && offered) request.headers.authorization = `Bearer ${offered}`;
    await ctx.requireAdmin(request, reply);
    if (fromQuery) {
      // HttpOnly keeps it from scripts; SameSite=Strict keeps other sites from riding on it.
      const secure = request.protocol === 'https' ? '; Secure' : '';
      reply.header('set-cookie', `${KEY_COOKIE}=${encodeURIComponent(fromQuery)}; Path=/; HttpOnly; SameSite=Strict${secure}`);
    }
  };
}
