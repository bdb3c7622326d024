// The admin's write tokens (write-tokens.ts): POST /blob-tokens makes one (shown once), GET
// /blob-tokens lists them without secrets, DELETE /blob-tokens/{id} revokes one. They live outside
// /blobs/ (the issue said POST /blobs/tokens): there every path is a blob key, and a key "tokens" must stay a blob.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, notFound, validationError } from '../../errors.js';
import type { BlobAccess } from './blob-access.js';
import type { TokenMethod, WriteToken } from './write-tokens.js';

const TokenBody = Type.Object(
  {
    prefixes: Type.Array(Type.String({ maxLength: 1024 }), { minItems: 1, maxItems: 100, description: 'the key prefixes the token may write under ("" for every key)' }),
    methods: Type.Array(Type.Union([Type.Literal('PUT'), Type.Literal('DELETE')]), { minItems: 1, maxItems: 2, uniqueItems: true, description: 'PUT (also POST /put/ and resumable uploads) and/or DELETE' }),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 24 * 3600, description: 'seconds the token works for; none: until revoked' })),
  },
  { additionalProperties: false },
);

const TokenView = Type.Object({
  id: Type.String(),
  prefixes: Type.Array(Type.String()),
  methods: Type.Array(Type.String()),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

const view = (token: WriteToken) => ({
  id: token.id,
  prefixes: token.prefixes,
  methods: token.methods,
  expires_at: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
  created_at: new Date(token.createdAt).toISOString(),
});

export function tokenRoutes(app: App, ctx: AppContext, access: BlobAccess): void {
  const tags = ['blobs'];
  app.post('/blob-tokens', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Make a write token for some key prefixes and methods (admin); the token is in this answer only',
      description: 'Used with WORKYARD_BLOBS_WRITE_ACCESS=token: `Authorization: Bearer <token>` on PUT /blobs/{key}, POST /put/, /uploads and DELETE /blobs/{key}.',
      security: [{ apiKey: [] }],
      body: TokenBody,
      response: { 201: Type.Object({ ...TokenView.properties, token: Type.String() }), 400: ErrorReply, 401: ErrorReply },
    },
  }, async (request, reply) => {
    const body = request.body as { prefixes: string[]; methods: TokenMethod[]; expires_in?: number };
    if (ctx.config.blobs.writeAccess !== 'token') throw validationError('prefixes', 'write tokens are used only with WORKYARD_BLOBS_WRITE_ACCESS=token, which this server does not have');
    const made = await access.tokens.create({ prefixes: body.prefixes, methods: body.methods, expiresAt: body.expires_in === undefined ? null : Date.now() + body.expires_in * 1000 });
    return (reply as FastifyReply).code(201).send({ ...view(made), token: made.token });
  });

  app.get('/blob-tokens', {
    preValidation: ctx.requireAdmin,
    schema: { tags, summary: 'The write tokens, oldest first, without their secrets (admin)', security: [{ apiKey: [] }], response: { 200: Type.Object({ items: Type.Array(TokenView) }), 401: ErrorReply } },
  }, async () => ({ items: (await access.tokens.list()).map(view) }));

  app.delete('/blob-tokens/:id', {
    preValidation: ctx.requireAdmin,
    schema: { tags, summary: 'Revoke a write token (admin)', security: [{ apiKey: [] }], params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 401: ErrorReply, 404: ErrorReply } },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await access.tokens.revoke(id))) throw notFound(`write token ${id}`);
    return (reply as FastifyReply).code(204).send();
  });
}
