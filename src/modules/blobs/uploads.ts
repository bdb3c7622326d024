// Resumable uploads by the tus 1.0 protocol (core, creation, termination, expiration), served by
// the maintained @tus/server at /uploads. An upload names its blob in Upload-Metadata; when its
// last byte arrives it lands in the blob store under that key, through the store's own put —
// so the size limit, the conditions and the digest apply as to any put, and on S3 the store
// writes the blob as it writes every other (a server-side copy would skip the store's rules and
// still leave the sha-256 to compute by reading the bytes back).
import type { Server, Upload } from '@tus/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, AppContext } from '../../app-context.js';
import { AppError, type ErrorCode, ErrorCodes, ErrorReply, notFound } from '../../errors.js';
import type { BlobMeta } from '../../infra/blobstore/contract.js';
import type { UploadStore } from '../../infra/blobstore/upload-store.js';
import { type BlobService, type WriteConditions, checkWriteConditions } from './blob-service.js';
import { authorizeUpload } from './upload-access.js';
import type { BlobAccess } from './blob-access.js';
import { SqlUploadLocker } from './upload-locks.js';
import { tooLarge } from './request-body.js';
import { type UploadIntent, intentOf, metadataWithConditions, parseUploadMetadata } from './upload-intent.js';

export const UPLOADS_PATH = '/uploads';
const TAGS = ['blobs'];

const codeByStatus = new Map<number, ErrorCode>(Object.entries(ErrorCodes).map(([code, status]) => [status, code as ErrorCode]));

/** What the tus server answers with when a hook throws: our one error shape, as its body. */
const tusError = (error: AppError) => ({ status_code: error.statusCode, body: JSON.stringify(error.toJSON()) });

/** The write conditions of an upload's creation request, in the service's terms. */
function conditionsOf(intent: UploadIntent): WriteConditions | undefined {
  if (!intent.ifMatch && !intent.ifNoneMatch) return undefined;
  return { ...(intent.ifMatch ? { ifMatch: [intent.ifMatch] } : {}), ...(intent.ifNoneMatch ? { ifNoneMatch: intent.ifNoneMatch } : {}) };
}

/** The conditions of an upload, checked against the blob the key holds now (at creation; at landing, the service checks them under the key's lock). */
async function checkConditions(service: BlobService, intent: UploadIntent): Promise<void> {
  const conditions = conditionsOf(intent);
  if (conditions) checkWriteConditions(intent.key, await service.head(intent.key), conditions);
}

/**
 * @tus/server and its store are loaded with the first upload request, not at start: a process that
 * takes none never pays for them (about 2 MiB of heap, and 40–65 ms to import on our 2-core machine; #23).
 */
const loadTus = () => import('@tus/server');

export class ResumableUploads {
  private server: Promise<Server> | null = null;
  private readonly locker: SqlUploadLocker;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: AppContext,
    private readonly service: BlobService,
    readonly store: UploadStore,
    private readonly access: BlobAccess,
  ) {
    this.locker = new SqlUploadLocker(ctx.database, { log: ctx.log });
  }

  /** The tus server, made on first use. */
  tusServer(): Promise<Server> {
    // a failure to make it (the store's module unreadable) is tried again by the next request
    this.server ??= this.makeTusServer().catch((error: unknown) => {
      this.server = null;
      throw error;
    });
    return this.server;
  }

  private async makeTusServer(): Promise<Server> {
    const ctx = this.ctx;
    const [{ Server }, datastore] = await Promise.all([loadTus(), this.store.datastore()]);
    return new Server({
      path: UPLOADS_PATH,
      datastore,
      // One lock per upload across every API node (a PATCH may reach any of them).
      locker: this.locker,
      maxSize: ctx.config.blobs.maxBytes,
      // Relative, so that an upload's URL holds behind any proxy and on every node.
      relativeLocation: true,
      // The tus server would let every origin's pages upload (Access-Control-Allow-Origin: *);
      // Workyard's routes answer no cross-origin request, and uploads are no exception.
      allowedOrigins: [],
      onUploadCreate: async (request, upload) => {
        try {
          return { metadata: metadataWithConditions(upload.metadata ?? {}, { ifMatch: request.headers.get('if-match'), ifNoneMatch: request.headers.get('if-none-match') }) };
        } catch (error) {
          throw error instanceof AppError ? tusError(error) : error;
        }
      },
      onUploadFinish: async (_request, upload) => {
        try {
          const meta = await this.land(upload);
          return { headers: { ETag: meta.etag } };
        } catch (error) {
          if (error instanceof AppError) throw tusError(error);
          ctx.log.error({ err: error, upload: upload.id }, 'a finished upload could not land in the blob store');
          throw tusError(new AppError('internal_error', 'the upload is complete but could not be stored yet: a HEAD of it tries again'));
        }
      },
      // The tus server's own refusals (409 wrong offset, 410 expired, 413 too large …) in our one error shape.
      onResponseError: (_request, error) => {
        if ('status_code' in error) {
          if (error.body.startsWith('{')) return undefined;
          const code = codeByStatus.get(error.status_code) ?? (error.status_code >= 500 ? 'internal_error' : 'validation_failed');
          return { status_code: error.status_code, body: JSON.stringify(new AppError(code, error.body.trim()).toJSON()) };
        }
        ctx.log.error({ err: error }, 'resumable upload failed');
        return { status_code: 500, body: JSON.stringify(new AppError('internal_error', 'the upload failed on the server').toJSON()) };
      },
    });
  }

  /**
   * A finished upload becomes the blob: its bytes stream from the upload store into the blob
   * store's put (checked against the sha-256 it was created with), and the upload is removed.
   * The upload's lock is held throughout, so that of two requests that would land it (the last
   * PATCH; a HEAD after a node died mid-landing or the store failed) one does.
   */
  async land(upload: Upload): Promise<BlobMeta> {
    const intent = intentOf(upload.metadata);
    const lock = this.locker.newLock(upload.id);
    // A request that waits meanwhile is not let in: landing is not cut halfway.
    await lock.lock(AbortSignal.timeout(this.locker.acquireTimeoutMs), () => undefined);
    try {
      if (!(await this.findUpload(upload.id))) {
        // Another request landed it while this one waited for the lock.
        const landed = await this.service.head(intent.key);
        if (landed) return landed;
        throw new AppError('not_found', `upload ${upload.id} not found (it was removed)`);
      }
      let meta: BlobMeta;
      try {
        const source = await this.store.read(upload.id);
        // through the service: conditions under the key's lock, the sha-256 checked as the bytes pass
        meta = await this.service.put(intent.key, source, {
          contentType: intent.contentType,
          contentLength: upload.size,
          conditions: conditionsOf(intent),
          digests: intent.sha256 ? [{ algorithm: 'sha256', expected: Buffer.from(intent.sha256, 'hex'), header: 'upload-metadata.sha256' }] : undefined,
        });
      } catch (error) {
        // Refused for good (a condition, the digest): the upload can never land, so it goes. A
        // store that failed (down, timed out) keeps it: the client's next HEAD lands it then.
        if (error instanceof AppError && error.statusCode < 500) await this.store.remove(upload.id);
        throw error;
      }
      await this.store.remove(upload.id);
      this.ctx.log.info({ upload: upload.id, key: intent.key, size: meta.size }, 'resumable upload landed');
      return meta;
    } finally {
      await lock.unlock();
    }
  }

  /** The upload, or null when there is none (never made, landed, terminated or swept). */
  private async findUpload(id: string): Promise<Upload | null> {
    try {
      return await (await this.store.datastore()).getUpload(id);
    } catch {
      return null;
    }
  }

  /** Removes the unfinished uploads past their expiry. */
  async sweepExpired(): Promise<number> {
    const removed = await this.store.sweepExpired();
    if (removed) this.ctx.log.info({ removed }, 'expired resumable uploads removed');
    return removed;
  }

  /**
   * Sweeps expired uploads every half expiry period, between once a minute and every 15 minutes,
   * in worker processes. Until swept, an expired upload already answers 410 (the tus server checks).
   */
  startSweeper(): void {
    const every = Math.max(60_000, Math.min(this.ctx.config.blobs.uploadExpiryMs / 2, 15 * 60_000));
    this.sweeper = setInterval(() => {
      this.sweepExpired().catch((error) => this.ctx.log.warn({ err: error }, 'sweeping expired uploads failed; tried again later'));
    }, every);
    this.sweeper.unref();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    // the store is infra's: closed with the other drivers
  }

  /**
   * What the routes check before the tus server sees a request: throws the AppError to answer,
   * or resolves with 'answered' when it answered the request itself.
   */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<'answered' | void> {
    const method = request.method;
    const maxBytes = this.ctx.config.blobs.maxBytes;
    // No request of the protocol carries more than a blob may hold (a chunked body is counted by the tus server).
    if (Number(request.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes);
    if (method === 'OPTIONS') return;
    if (method === 'POST') {
      const metadata = parseUploadMetadata(request.headers['upload-metadata'] as string | undefined);
      const intent = intentOf(metadataWithConditions(metadata, { ifMatch: request.headers['if-match'], ifNoneMatch: request.headers['if-none-match'] }));
      const length = request.headers['upload-length'];
      if (typeof length === 'string' && Number(length) > maxBytes) {
        throw new AppError('payload_too_large', `Upload-Length is larger than the ${maxBytes} bytes this server accepts (WORKYARD_BLOBS_MAX_BYTES)`, { field: 'upload-length', max_bytes: maxBytes });
      }
      await authorizeUpload(this.ctx, this.access, request, reply, { action: 'create', key: intent.key });
      // Fail fast: a create-only upload of a key that exists would only fail at its last byte.
      await checkConditions(this.service, intent);
      return;
    }
    const id = (request.params as { id: string }).id;
    const upload = await this.findUpload(id);
    const key = upload?.metadata?.key;
    if (!upload || !key) throw notFound(`upload ${id}`);
    await authorizeUpload(this.ctx, this.access, request, reply, { action: method === 'DELETE' ? 'terminate' : 'resume', key });
    // Finished but still here: its node stopped while landing it, or the store failed then (a
    // landed upload is removed). Land it now, so that a client resuming finds it complete and stored.
    if (method === 'HEAD' && upload.size !== undefined && upload.offset === upload.size) return this.landLate(upload, reply);
  }

  /** Answers a HEAD of a finished upload that never landed, by landing it. */
  private async landLate(upload: Upload, reply: FastifyReply): Promise<'answered'> {
    let meta: BlobMeta;
    try {
      meta = await this.land(upload);
    } catch (error) {
      if (error === (await loadTus()).ERRORS.ERR_LOCK_TIMEOUT) throw new AppError('conflict', `upload ${upload.id} is being stored; ask again shortly`);
      throw error;
    }
    this.ctx.log.warn({ upload: upload.id, key: meta.key }, 'a finished upload that had not landed (its node stopped) landed on a HEAD');
    await reply
      .code(200)
      .headers({ 'tus-resumable': '1.0.0', 'upload-offset': upload.size!, 'upload-length': upload.size!, 'cache-control': 'no-store', etag: meta.etag })
      .send();
    return 'answered';
  }
}

export async function uploadRoutes(app: App, uploads: ResumableUploads): Promise<void> {
  await app.register(async (scope) => {
    // Bytes reach the tus server as the request stream itself: nothing here reads a body.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.addHook('onError', async (request, reply) => {
      if (!request.raw.complete) reply.header('connection', 'close');
    });
    const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
      if ((await uploads.admit(request, reply)) === 'answered') return reply;
      reply.hijack();
      try {
        await (await uploads.tusServer()).handle(request.raw, reply.raw);
      } catch (error) {
        // Past hijack() Fastify answers nothing: a failure here can only cut the connection.
        request.log.error({ err: error }, 'the tus server failed to answer');
        reply.raw.destroy();
      }
    };
    const description = 'tus 1.0 (core, creation, termination, expiration): see the README, "Resumable uploads (tus)". Needs Tus-Resumable: 1.0.0.';
    scope.route({
      method: ['POST', 'OPTIONS'],
      url: UPLOADS_PATH,
      schema: {
        tags: TAGS,
        summary: 'Create a resumable upload (tus): Upload-Length, Upload-Metadata with key (and content-type, sha256); If-Match / If-None-Match: * apply when it lands',
        description,
        response: { 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 412: ErrorReply, 413: ErrorReply },
      },
      handler: handOver,
    });
    scope.route({
      method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
      url: `${UPLOADS_PATH}/:id`,
      schema: {
        tags: TAGS,
        summary: 'An upload: HEAD its offset, PATCH bytes at its offset (application/offset+octet-stream), DELETE it (tus)',
        description,
        response: { 401: ErrorReply, 404: ErrorReply, 409: ErrorReply, 410: ErrorReply, 413: ErrorReply },
      },
      handler: handOver,
    });
  });
}
