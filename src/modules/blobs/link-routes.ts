// POST /blobs/{key}/links (admin): a link to one blob, for GET or PUT, until a time (signed-links.ts).
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, notFound, validationError } from '../../errors.js';
import { assertValidKey } from '../../infra/blobstore/keys.js';
import type { BlobAccess } from './blob-access.js';
import { type LinkMethod, signLink } from './signed-links.js';

const MAX_EXPIRES_IN = 7 * 24 * 3600;

const LinkBody = Type.Object(
  {
    method: Type.Union([Type.Literal('GET'), Type.Literal('PUT')], { description: 'what the link lets its holder do with this one blob' }),
    expires_in: Type.Integer({ minimum: 1, maximum: MAX_EXPIRES_IN, default: 3600, description: `seconds the link works for (at most ${MAX_EXPIRES_IN}: a week)` }),
    max_bytes: Type.Optional(Type.Integer({ minimum: 0, description: 'PUT links: the largest body the link takes (413 past it)' })),
  },
  { additionalProperties: false },
);

const LinkReply = Type.Object({
  url: Type.String({ description: 'the link, on the host and scheme the request came to' }),
  path: Type.String({ description: 'the same link without scheme and host' }),
  method: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
});

/** /blobs/a b/c.txt for key "a b/c.txt": each segment escaped, the slashes kept. */
export function blobPathOf(key: string): string {
  return `/blobs/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export function linkRoutes(app: App, ctx: AppContext, access: BlobAccess): void {
  // POST /blobs/<key>/links: the key is everything before the last /links (a key may hold slashes)
  app.post('/blobs/*', {
    // the key first, then whether this is a links route at all, then the body
    preValidation: async (request, reply) => {
      await ctx.requireAdmin(request, reply);
      const rest = (request.params as { '*': string })['*'];
      if (!rest.endsWith('/links')) throw notFound(`route POST /blobs/${rest}`);
    },
    schema: {
      tags: ['blobs'],
      summary: 'POST /blobs/{key}/links: a signed link to the blob for GET or PUT that expires (admin)',
      description: 'The link works on every API node until it expires; an expired, altered or wrong-method link is 403 with the reason. See the README (Blobs: links that expire).',
      security: [{ apiKey: [] }],
      params: Type.Object({ '*': Type.String({ description: '<key>/links' }) }),
      body: LinkBody,
      response: { 201: LinkReply, 400: ErrorReply, 401: ErrorReply, 404: ErrorReply },
    },
  }, async (request, reply) => {
    const key = (request.params as { '*': string })['*'].slice(0, -'/links'.length);
    assertValidKey(key);
    const body = request.body as { method: LinkMethod; expires_in: number; max_bytes?: number };
    if (body.max_bytes !== undefined && body.method !== 'PUT') throw validationError('max_bytes', 'max_bytes is for PUT links');
    const expires = Math.floor(Date.now() / 1000) + body.expires_in;
    const path = `${blobPathOf(key)}?${signLink(access.signingKeys, { method: body.method, key, expires, maxBytes: body.max_bytes })}`;
    return (reply as FastifyReply).code(201).send({ url: `${request.protocol}://${request.host}${path}`, path, method: body.method, expires_at: new Date(expires * 1000).toISOString() });
  });
}
