// The routes of the service Workyard replaces, kept as they were: base64 inside JSON. A put's JSON
// is parsed whole (up to 10 MB, as before); a get streams its answer, encoding as it reads.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app-context.js';
import { notFound, validationError } from '../../errors.js';
import type { BlobService } from './blob-service.js';
import { contentTypeOfExtension } from './content-types.js';
import { jsonWithBase64Data } from './json-base64.js';

export const COMPAT_BODY_LIMIT = 10 * 1024 * 1024;
const TAGS = ['blobs'];
const ErrorSchema = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }) });

const PutBody = Type.Object(
  {
    key: Type.String({ minLength: 1, description: 'the key: 1 to 1,024 bytes of UTF-8, "/" allowed' }),
    extension: Type.String({ pattern: '^[A-Za-z0-9._+-]{0,32}$', description: 'file extension, e.g. png (sets the Content-Type the blob is served with)' }),
    data: Type.String({ description: 'the bytes, base64 (standard alphabet, padded)' }),
  },
  { additionalProperties: false },
);

// Buffer.from(…, 'base64') skips what it does not understand; bad input must be a 400 instead.
// (One flat character class: a grouped repetition overflows the regex stack on megabytes.)
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (text: string) => text.length % 4 === 0 && BASE64_CHARS.test(text);

export function compatBlobRoutes(app: App, service: BlobService): void {
  app.post('/put/', {
    bodyLimit: COMPAT_BODY_LIMIT,
    schema: {
      tags: TAGS,
      summary: 'Store base64 data under a key (compatible route; JSON body up to 10 MB)',
      body: PutBody,
      response: { 201: Type.Object({ msg: Type.Literal('stored'), key: Type.String() }), 400: ErrorSchema, 413: ErrorSchema },
    },
  }, async (request, reply) => {
    const { key, extension, data } = request.body as { key: string; extension: string; data: string };
    if (!isBase64(data)) throw validationError('data', 'data must be base64 (A-Z, a-z, 0-9, +, /, padded with = to a multiple of 4)');
    const bytes = Buffer.from(data, 'base64');
    await service.putBuffer(key, bytes, { contentType: contentTypeOfExtension(extension), contentLength: bytes.length, metadata: extension ? { extension } : undefined });
    return reply.code(201).send({ msg: 'stored' as const, key });
  });

  app.get('/get/*', {
    schema: {
      tags: TAGS,
      summary: 'A blob as {key, extension, data: base64} (compatible route)',
      params: Type.Object({ '*': Type.String({ description: 'the key' }) }),
      response: { 404: ErrorSchema },
    },
  }, async (request, reply) => {
    const key = (request.params as { '*': string })['*'];
    const found = await service.get(key);
    if (!found) throw notFound(`blob ${key}`);
    const { body, length } = jsonWithBase64Data({ key, extension: found.meta.metadata?.extension ?? '' }, found.meta.size, found.body);
    return (reply as FastifyReply).type('application/json; charset=utf-8').header('content-length', length).header('etag', found.meta.etag).send(body);
  });
}
