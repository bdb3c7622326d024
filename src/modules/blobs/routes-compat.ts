// The routes of the service Workyard replaces, kept as they were: base64 inside JSON. A put's JSON
// is parsed whole (up to 10 MB, as before); a get streams its answer, encoding as it reads.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app-context.js';
import { ErrorReply, notFound, validationError } from '../../errors.js';
import type { BlobAccess } from './blob-access.js';
import type { BlobService } from './blob-service.js';
import { contentTypeOfExtension, extensionOfContentType, normaliseExtension } from './content-types.js';
import { decodeBase64Text, jsonWithBase64Data } from './json-base64.js';
import { expiryIn } from './write-headers.js';

export const COMPAT_BODY_LIMIT = 10 * 1024 * 1024;
const TAGS = ['blobs'];

const PutBody = Type.Object(
  {
    key: Type.String({ minLength: 1, description: 'the key: 1 to 1,024 bytes of UTF-8, "/" allowed' }),
    extension: Type.String({
      maxLength: 32,
      pattern: '^(\\.?[A-Za-z0-9_+-]+(\\.[A-Za-z0-9_+-]+)*)?$',
      description: 'file extension, e.g. png, .png or tar.gz: a leading dot is dropped, the last part sets the Content-Type the blob is served with ("" for none)',
    }),
    data: Type.String({ description: 'the bytes in base64: standard or url-safe alphabet, padding optional, line breaks and other ASCII whitespace skipped (as Python\'s base64.encodebytes and MIME write it)' }),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, description: 'seconds from now: the blob answers 404 from then on and is swept' })),
  },
  { additionalProperties: false },
);

export function compatBlobRoutes(app: App, service: BlobService, access: BlobAccess): void {
  app.post('/put/', {
    bodyLimit: COMPAT_BODY_LIMIT,
    // WORKYARD_BLOBS_WRITE_ACCESS: the API key is checked before the body is read; a write token,
    // which allows some keys only, once the body (and its key) is (no links here: they are for /blobs/{key})
    preValidation: async (request, reply) => {
      if (access.writeMode !== 'token') await access.authorize(request, reply, 'write', '');
    },
    preHandler: async (request, reply) => {
      if (access.writeMode === 'token') await access.authorize(request, reply, 'write', (request.body as { key: string }).key);
    },
    schema: {
      tags: TAGS,
      summary: 'Store base64 data under a key (compatible route; JSON body up to 10 MB)',
      body: PutBody,
      response: { 201: Type.Object({ msg: Type.Literal('stored'), key: Type.String() }), 400: ErrorReply, 413: ErrorReply },
    },
  }, async (request, reply) => {
    const { key, extension: given, data, expires_in: expiresIn } = request.body as { key: string; extension: string; data: string; expires_in?: number };
    const extension = normaliseExtension(given);
    const bytes = decodeBase64Text(data);
    if (!bytes) throw validationError('data', 'data must be base64: A-Z, a-z, 0-9 and + / (or - _), = padding optional, line breaks allowed');
    const expiresAt = expiryIn(expiresIn);
    await service.putBuffer(key, bytes, { contentType: contentTypeOfExtension(extension), contentLength: bytes.length, metadata: extension ? { extension } : undefined, expiresAt });
    return reply.code(201).send({ msg: 'stored' as const, key });
  });

  app.get('/get/*', {
    onRequest: async (request, reply) => {
      await access.authorize(request, reply, 'read', (request.params as { '*': string })['*']);
    },
    schema: {
      tags: TAGS,
      summary: 'A blob as {key, extension, data: base64} (compatible route)',
      params: Type.Object({ '*': Type.String({ description: 'the key' }) }),
      response: { 404: ErrorReply },
    },
  }, async (request, reply) => {
    const key = (request.params as { '*': string })['*'];
    const found = await service.get(key);
    if (!found) throw notFound(`blob ${key}`);
    const { body, length } = jsonWithBase64Data({ key, extension: found.meta.metadata?.extension ?? extensionOfContentType(found.meta.contentType) }, found.meta.size, found.body);
    return (reply as FastifyReply).type('application/json; charset=utf-8').header('content-length', length).header('etag', found.meta.etag).send(body);
  });
}
