// The native HTTP surface: raw bytes in and out, streamed end to end (a large body is never whole
// in memory), with the HTTP rules clients and caches expect: ranges, entity tags, HEAD, listing.
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, notFound, validationError } from '../../errors.js';
import type { BlobMeta, ByteRange } from '../../infra/blobstore/contract.js';
import { MAX_LIST_LIMIT } from '../../infra/blobstore/store-rules.js';
import type { BlobAccess } from './blob-access.js';
import type { BlobService } from './blob-service.js';
import { ifRangeHolds, noneMatchHits, parseRange, resolveRange } from './http-conditions.js';
import { countedBody, tooLarge } from './request-body.js';
import { digestChecksOf, expiryOf, reprDigest, writeConditionsOf } from './write-headers.js';

const TAGS = ['blobs'];
const KeyParams = Type.Object({ '*': Type.String({ description: 'the key: 1 to 1,024 bytes of UTF-8, "/" allowed' }) });
const PutResult = Type.Object({
  key: Type.String(),
  size: Type.Integer(),
  etag: Type.String(),
  sha256: Type.Optional(Type.String({ description: 'sha-256 of the bytes, hex' })),
  expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'from Expires: the blob answers 404 from then on' })),
});
const ListItem = Type.Object({
  key: Type.String(),
  size: Type.Integer(),
  etag: Type.String(),
  content_type: Type.String(),
  last_modified: Type.String({ format: 'date-time' }),
  sha256: Type.Optional(Type.String({ description: 'sha-256 of the bytes, hex (blobs stored before it was kept have none)' })),
  expires_at: Type.Optional(Type.String({ format: 'date-time' })),
});
const ListQuery = Type.Object({
  prefix: Type.String({ default: '', maxLength: 1024 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIST_LIMIT, default: 100 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'next_cursor of the previous page' })),
});

const keyOf = (request: FastifyRequest) => (request.params as { '*': string })['*'];

// A media type as a header carries it: printable ASCII, bounded.
const CONTENT_TYPE = /^[\x20-\x7e]{1,255}$/;

function contentLengthOf(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined || request.headers['transfer-encoding'] !== undefined) return undefined;
  return Number(header);
}

/**
 * A stored object is served with the Content-Type its uploader chose, on Workyard's own origin. The
 * pages' policy (scripts from 'self') would let an uploaded text/html object load an uploaded
 * script and act with an operator's cookie; objects get a policy of their own instead: nothing
 * loads, and the document is sandboxed (an opaque origin, no scripts).
 */
export const OBJECT_CSP = "default-src 'none'; sandbox";

function objectHeaders(reply: FastifyReply, meta: BlobMeta): FastifyReply {
  // RFC 9530: the digest of the whole blob, on a range's answer too
  if (meta.sha256) reply.header('repr-digest', reprDigest(meta.sha256));
  return reply
    .header('content-security-policy', OBJECT_CSP)
    .header('content-type', meta.contentType)
    .header('etag', meta.etag)
    .header('last-modified', meta.lastModified.toUTCString())
    .header('accept-ranges', 'bytes');
}

/** sha256 and expires_at of a blob's JSON, when it has them. */
const optionalFields = (meta: BlobMeta) => ({ ...(meta.sha256 ? { sha256: meta.sha256 } : {}), ...(meta.expiresAt ? { expires_at: meta.expiresAt.toISOString() } : {}) });

function notModified(reply: FastifyReply, meta: BlobMeta) {
  return reply.code(304).header('etag', meta.etag).header('last-modified', meta.lastModified.toUTCString()).send();
}

function unsatisfiable(reply: FastifyReply, size: number | undefined) {
  if (size !== undefined) reply.header('content-range', `bytes */${size}`);
  const error = new AppError('range_not_satisfiable', `the range is outside the object${size === undefined ? '' : ` of ${size} bytes`}`, { field: 'range' });
  return reply.code(416).type('application/json; charset=utf-8').send(error.toJSON());
}

/** The largest body a PUT may send: the store's limit, or a signed link's max_bytes below it (set by the PUT's onRequest). */
const byteLimits = new WeakMap<FastifyRequest, number>();

export async function nativeBlobRoutes(app: App, ctx: AppContext, service: BlobService, access: BlobAccess): Promise<void> {
  const maxBytes = ctx.config.blobs.maxBytes;
  const authorizeRead = async (request: FastifyRequest, reply: FastifyReply) => {
    await access.authorize(request, reply, 'read', keyOf(request));
  };

  // The raw body of a PUT reaches the handler as the request stream itself: this scope has no
  // parser that reads a body, whatever its Content-Type (JSON and forms included).
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    // An error answered before the body was read: close the connection rather than drain gigabytes.
    raw.addHook('onError', async (request, reply) => {
      if (!request.raw.complete) reply.header('connection', 'close');
    });

    raw.put('/blobs/*', {
      schema: {
        tags: TAGS,
        summary: 'Store the raw request body under the key (any Content-Type, kept), streamed to the store',
        description:
          `Streams the body to the store without buffering it. Content-Length above WORKYARD_BLOBS_MAX_BYTES (${maxBytes}) → 413 before reading; a chunked body is counted as it arrives. ` +
          'If-Match (only over that version) and If-None-Match: * (create only) → 412 when they fail, atomically across API nodes. ' +
          'Content-MD5, Repr-Digest / Content-Digest (sha-256) and x-amz-checksum-sha256 are checked as the bytes arrive: a mismatch is 400 naming the header and stores nothing. ' +
          'Expires (an HTTP date): the blob answers 404 from then on and is swept.',
        params: KeyParams,
        response: { 201: PutResult, 400: ErrorReply, 409: ErrorReply, 412: ErrorReply, 413: ErrorReply, 503: ErrorReply },
      },
      onRequest: async (request, reply) => {
        // who may write, before a byte of the body is read (WORKYARD_BLOBS_WRITE_ACCESS, or a signed PUT link)
        const grant = await access.authorize(request, reply, 'write', keyOf(request));
        const limit = grant?.maxBytes !== undefined ? Math.min(grant.maxBytes, maxBytes) : maxBytes;
        byteLimits.set(request, limit);
        const length = request.headers['content-length'];
        if (length !== undefined && Number(length) > limit) {
          reply.header('connection', 'close');
          throw tooLarge(limit);
        }
      },
    }, async (request, reply) => {
      const key = keyOf(request);
      const contentType = request.headers['content-type'] ?? 'application/octet-stream';
      if (!CONTENT_TYPE.test(contentType)) throw validationError('content-type', 'content-type must be 1 to 255 printable ASCII characters');
      const conditions = writeConditionsOf(request.headers);
      const digests = digestChecksOf(request.headers);
      const expiresAt = expiryOf(request.headers);
      const body = countedBody(request.body as IncomingMessage | undefined, byteLimits.get(request) ?? maxBytes);
      const meta = await service.put(key, body, { contentType, contentLength: contentLengthOf(request), conditions, digests, expiresAt });
      // The blob is stored (on disk or S3, outside the SQL database): its event is recorded after,
      // only while some webhook takes it, and a database that is down costs the event (logged),
      // never the answer — blobs keep working without PostgreSQL (test/faults/postgres-cut).
      if (ctx.events.wants('blob.stored')) {
        await ctx.events
          .record([{ type: 'blob.stored', data: { key: meta.key, size: meta.size, etag: meta.etag, content_type: contentType } }])
          .catch((error: unknown) => request.log.warn({ err: error, key: meta.key }, 'blob.stored not recorded: the blob is stored, its webhook event is lost'));
      }
      if (meta.sha256) reply.header('repr-digest', reprDigest(meta.sha256));
      return reply.code(201).header('etag', meta.etag).send({ key: meta.key, size: meta.size, etag: meta.etag, ...optionalFields(meta) });
    });
  });

  app.get('/blobs', {
    // a listing is a read of every key in it: with WORKYARD_BLOBS_READ_ACCESS=key, the key holder's
    onRequest: async (request, reply) => {
      if (ctx.config.blobs.readAccess === 'key') await ctx.requireAdmin(request, reply);
    },
    schema: {
      tags: TAGS,
      summary: 'A page of blobs in byte order of their keys, under a prefix, after a cursor',
      querystring: ListQuery,
      response: { 200: Type.Object({ items: Type.Array(ListItem), next_cursor: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorReply },
    },
  }, async (request) => {
    const { prefix, limit, cursor } = request.query as { prefix: string; limit: number; cursor?: string };
    const page = await service.list({ prefix, limit, cursor });
    return {
      items: page.items.map((item) => ({ key: item.key, size: item.size, etag: item.etag, content_type: item.contentType, last_modified: item.lastModified.toISOString(), ...optionalFields(item) })),
      next_cursor: page.nextCursor,
    };
  });

  app.get('/blobs/*', {
    exposeHeadRoute: false,
    onRequest: authorizeRead,
    schema: {
      tags: TAGS,
      summary: 'The bytes of a blob (Range → 206, If-None-Match → 304)',
      params: KeyParams,
      response: { 404: ErrorReply, 416: ErrorReply },
    },
  }, async (request, reply) => {
    const key = keyOf(request);
    const ifNoneMatch = request.headers['if-none-match'];
    const ifRange = request.headers['if-range'] as string | undefined;
    const rangeSpec = parseRange(request.headers.range);
    // The object is replaced between the two reads below at most rarely; then read it again.
    for (let attempt = 0; ; attempt++) {
      // Conditions and suffix ranges need the object's etag or size before its bytes.
      const expected = ifNoneMatch || ifRange || rangeSpec?.kind === 'suffix' ? await service.head(key) : null;
      if ((ifNoneMatch || ifRange || rangeSpec?.kind === 'suffix') && !expected) throw notFound(`blob ${key}`);
      if (expected && noneMatchHits(ifNoneMatch, expected.etag)) return notModified(reply, expected);
      const honoured = rangeSpec && (!expected || ifRangeHolds(ifRange, expected.etag)) ? rangeSpec : null;

      let span: ByteRange | undefined;
      if (honoured) {
        if (expected) {
          const resolved = resolveRange(honoured, expected.size);
          if (!resolved) return unsatisfiable(reply, expected.size);
          span = resolved;
        } else if (honoured.kind === 'from') {
          span = { start: honoured.start, end: honoured.end ?? Number.MAX_SAFE_INTEGER };
        }
      }

      let result: Awaited<ReturnType<BlobService['get']>>;
      try {
        result = await service.get(key, span);
      } catch (error) {
        if (error instanceof AppError && error.code === 'range_not_satisfiable') return unsatisfiable(reply, (await service.head(key))?.size);
        throw error;
      }
      if (!result) throw notFound(`blob ${key}`);
      const { meta, body } = result;
      if (expected && meta.etag !== expected.etag && attempt === 0) {
        body.destroy();
        continue;
      }
      // The typed reply knows only the JSON answers of the schema; the bytes are a stream.
      const bytesReply = objectHeaders(reply as FastifyReply, meta);
      if (!span) return bytesReply.code(200).header('content-length', meta.size).send(body);
      const end = Math.min(span.end, meta.size - 1);
      return bytesReply
        .code(206)
        .header('content-range', `bytes ${span.start}-${end}/${meta.size}`)
        .header('content-length', end - span.start + 1)
        .send(body);
    }
  });

  app.head('/blobs/*', {
    onRequest: authorizeRead,
    schema: { tags: TAGS, summary: 'The headers of a blob, without its bytes', params: KeyParams },
  }, async (request, reply) => {
    const meta = await service.head(keyOf(request));
    if (!meta) throw notFound(`blob ${keyOf(request)}`);
    if (noneMatchHits(request.headers['if-none-match'], meta.etag)) return notModified(reply, meta);
    return objectHeaders(reply, meta).code(200).header('content-length', meta.size).send();
  });

  app.delete('/blobs/*', {
    // the API key (or, with WORKYARD_BLOBS_WRITE_ACCESS=token, a token allowing DELETE on the key)
    onRequest: async (request, reply) => {
      await access.authorize(request, reply, 'delete', keyOf(request));
    },
    schema: {
      tags: TAGS,
      summary: 'Delete a blob (204; 404 when there is none; If-Match → 412 unless it is at that version); needs the API key when one is set',
      security: [{ apiKey: [] }],
      params: KeyParams,
      response: { 400: ErrorReply, 401: ErrorReply, 404: ErrorReply, 409: ErrorReply, 412: ErrorReply },
    },
  }, async (request, reply) => {
    const key = keyOf(request);
    const ifMatch = writeConditionsOf(request.headers)?.ifMatch;
    if (!(await service.delete(key, ifMatch ? { ifMatch } : undefined))) throw notFound(`blob ${key}`);
    return (reply as FastifyReply).code(204).send();
  });
}
