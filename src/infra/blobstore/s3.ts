// The scaled blob store: S3 or any S3-compatible server (MinIO, s3rver; path-style addressing
// from the config). S3 is strongly consistent, so an object is readable from every node as soon
// as its put resolved. Bodies stream both ways: a put of known length is one streamed PutObject
// (up to 1 MiB read whole first), one of unknown length a multipart Upload that buffers at most a
// few parts.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { FastifyBaseLogger } from 'fastify';
import { Readable, Transform } from 'node:stream';
import type { S3Config } from '../../config.js';
import { AppError, DependencyUnavailableError } from '../../errors.js';
import { type BlobMeta, type BlobStore, type ByteRange, BlobExistsError, type PutOptions } from './contract.js';
import { VerifiedBody, digestsOfBuffer, promisedSha256 } from './digests.js';
import { assertValidKey } from './keys.js';
import { splitStoredFields, withStoredFields } from './stored-fields.js';
import { checkContentLength, checkMetadata, listArguments, rangeOf } from './store-rules.js';
import { probeConditionalPuts } from './s3-conditional-puts.js';
import { isMissingObject, isPreconditionFailed, isUnsatisfiableRange, s3Call, toS3Error } from './s3-errors.js';

export interface S3BlobStoreOptions {
  /** deadline of every call that does not carry a body (head, get until its headers, list, delete) */
  timeoutMs: number;
  log?: FastifyBaseLogger;
  /** multipart part size for bodies of unknown length (default and S3's minimum: 5 MiB) */
  partSize?: number;
}

/** S3 takes one PutObject up to 5 GiB; larger bodies must go multipart. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;
/** streamed bodies of known length up to this size are read into memory before their put */
const BUFFERED_PUT_MAX_BYTES = 1024 * 1024;
/** a body transfer that makes no progress for this long is cut (slow clients stall it, not kill it) */
const TRANSFER_IDLE_TIMEOUT_MS = 120_000;
/** HEADs in flight at once while a listing fetches content types */
const LIST_HEAD_CONCURRENCY = 16;

/** Where and how every S3 client of Workyard connects (the blob store's, the resumable uploads'). */
export function s3ClientSettings(config: S3Config) {
  return {
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: config.accessKeyId && config.secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } : undefined,
    // Newer SDKs add CRC32 checksums with aws-chunked bodies by default, which MinIO releases
    // and s3rver do not all understand; S3 itself verifies payloads through the signature.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
}

export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;
  private readonly client: S3Client;
  /** for streamed bodies, which cannot be sent twice: the SDK must not retry them */
  private readonly streamingClient: S3Client;
  private readonly bucket: string;
  private bucketReady: Promise<void> | null = null;
  private conditionalPuts: Promise<boolean> | null = null;

  constructor(
    private readonly config: S3Config,
    private readonly options: S3BlobStoreOptions,
  ) {
    this.bucket = config.bucket;
    const common = {
      ...s3ClientSettings(config),
      requestHandler: { connectionTimeout: options.timeoutMs, socketTimeout: TRANSFER_IDLE_TIMEOUT_MS, httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
      // The SDK warns on the console of every failed streamed put (a create-only put's 412 among
      // them); the store reports what matters itself, so the SDK's words go to the debug log.
      logger: sdkLogger(options.log),
    };
    this.client = new S3Client({ ...common, maxAttempts: 2 });
    this.streamingClient = new S3Client({ ...common, maxAttempts: 1 });
  }

  /** Makes the bucket if it is missing. A store that cannot be reached now is retried on first use. */
  async start(): Promise<void> {
    await this.ready().catch((error) => this.options.log?.warn({ err: error, bucket: this.bucket }, 's3 is not reachable yet; the bucket is checked again on first use'));
  }

  /**
   * Create-only puts are S3's own `If-None-Match: *` where the server honours it (S3, MinIO, moto);
   * others (s3rver) ignore the header, so the blobs module locks the key instead. Asked of the
   * server once (s3-conditional-puts.ts) unless the configuration says.
   */
  async createsAtomically(): Promise<boolean> {
    if (this.config.conditionalPuts !== undefined) return this.config.conditionalPuts;
    this.conditionalPuts ??= this.ready()
      .then(() => probeConditionalPuts(this.streamingClient, this.bucket, this.options.timeoutMs))
      .then((honoured) => {
        this.options.log?.info({ bucket: this.bucket, honoured }, 'asked the S3 server whether it honours If-None-Match on puts');
        return honoured;
      })
      .catch((error) => {
        this.conditionalPuts = null;
        throw error;
      });
    return this.conditionalPuts;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<BlobMeta> {
    assertValidKey(key);
    checkMetadata(options.metadata);
    const contentType = options.contentType || 'application/octet-stream';
    try {
      options.signal?.throwIfAborted();
      if (options.createOnly && !(await this.createsAtomically())) throw new Error('this S3 server does not honour If-None-Match: the S3 blob store cannot take createOnly');
      await this.ready();
      // A create-only put is never retried by the SDK: a retry after a lost answer would meet its own object.
      const client = options.createOnly ? this.streamingClient : this.client;
      const params = { Bucket: this.bucket, Key: key, ContentType: contentType, ...(options.createOnly ? { IfNoneMatch: '*' } : {}) };
      // A small body is read whole first: its sha-256 then goes with the put, instead of a copy of
      // the object onto itself after it (one request, not two).
      if (!Buffer.isBuffer(body) && options.contentLength !== undefined && options.contentLength <= BUFFERED_PUT_MAX_BYTES) {
        body = Buffer.concat(await body.toArray({ signal: options.signal }));
      }
      let etag: string | undefined;
      let size: number;
      let sha256: Buffer;
      if (Buffer.isBuffer(body)) {
        checkContentLength(options.contentLength, body.length);
        sha256 = (await digestsOfBuffer(body, options.digests, { md5: false })).sha256;
        size = body.length;
        const Metadata = withStoredFields(options.metadata, { sha256, expiresAt: options.expiresAt });
        etag = (await client.send(new PutObjectCommand({ ...params, Metadata, Body: body, ContentLength: size }), { abortSignal: options.signal })).ETag;
      } else {
        // A streamed body's sha-256 is known at its end, after S3 took the metadata: unless the
        // client promised one (and the body is checked against it), it is recorded after.
        const promised = promisedSha256(options.digests);
        const Metadata = withStoredFields(options.metadata, { sha256: promised, expiresAt: options.expiresAt });
        const verified = new VerifiedBody({ length: options.contentLength, digests: options.digests });
        body.on('error', (error) => verified.destroy(error));
        if (options.contentLength !== undefined && options.contentLength <= MAX_SINGLE_PUT) {
          etag = await this.putStreamed({ ...params, Metadata, ContentLength: options.contentLength }, body.pipe(verified), options.signal);
        } else {
          // One part at a time (the client waits, by TCP backpressure, while a part uploads): a
          // 100 MB body then costs the server about 30 MB; two 8 MiB parts in flight made it 70 MB
          // (the large-objects test measures it).
          const upload = new Upload({ client, params: { ...params, Metadata, Body: body.pipe(verified) }, partSize: this.options.partSize ?? 5 * 1024 ** 2, queueSize: 1, leavePartsOnError: false });
          options.signal?.addEventListener('abort', () => void upload.abort().catch(() => {}), { once: true });
          etag = (await upload.done()).ETag;
        }
        ({ sha256 } = verified.digests);
        size = verified.bytes;
        if (!promised) etag = await this.recordSha256(key, etag ?? '""', size, contentType, withStoredFields(Metadata, { sha256 }));
      }
      return { key, size, etag: etag ?? '""', contentType, lastModified: new Date(), ...splitStoredFields(withStoredFields(options.metadata, { sha256, expiresAt: options.expiresAt })) };
    } catch (error) {
      if (!Buffer.isBuffer(body) && !body.destroyed) body.destroy();
      if (options.signal?.aborted) throw options.signal.reason;
      if (options.createOnly && isPreconditionFailed(error)) throw new BlobExistsError(key);
      throw toS3Error(error);
    }
  }

  /**
   * Known length: one request, the body streamed straight through. A body that fails, or turns out
   * shorter, longer or other than its digests say, aborts the request before its last bytes: S3
   * then keeps nothing.
   */
  private async putStreamed(params: ConstructorParameters<typeof PutObjectCommand>[0], body: VerifiedBody, signal: AbortSignal | undefined): Promise<string | undefined> {
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    let bodyError: unknown;
    const bodyFailed = new Promise<never>((_, reject) =>
      body.once('error', (error) => {
        bodyError = error;
        controller.abort();
        reject(error);
      }),
    );
    bodyFailed.catch(() => {});
    try {
      return (await Promise.race([this.streamingClient.send(new PutObjectCommand({ ...params, Body: body }), { abortSignal: controller.signal }), bodyFailed])).ETag;
    } catch (error) {
      throw bodyError ?? error;
    }
  }

  /**
   * Adds the sha-256 to an object just put, by copying it onto itself with the new metadata — only
   * while it is still that version (CopySourceIfMatch): a newer put meanwhile keeps its own. S3
   * copies objects up to 5 GiB in one request; larger ones keep no sha-256, nor does one whose copy
   * failed (returns the etag the object has either way).
   */
  private async recordSha256(key: string, etag: string, size: number, contentType: string, metadata: Record<string, string> | undefined): Promise<string> {
    if (size > MAX_SINGLE_PUT) return etag;
    const source = `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    // a copy's time grows with the object (S3 copies at hundreds of MB/s; s3rver at disk speed)
    const deadline = this.options.timeoutMs + Math.ceil(size / 20_000);
    try {
      const copied = await s3Call(deadline, (abortSignal) =>
        this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: source, CopySourceIfMatch: etag, MetadataDirective: 'REPLACE', ContentType: contentType, Metadata: metadata }), { abortSignal }),
      );
      return copied.CopyObjectResult?.ETag ?? etag;
    } catch (error) {
      // The bytes are stored: the put stands (a client told otherwise would retry a write that
      // happened), without its sha-256. 412: a newer put replaced it meanwhile, as it may.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) {
        this.options.log?.warn({ err: error, key }, 'a blob was stored but its sha-256 could not be recorded');
      }
      return etag;
    }
  }

  async get(key: string, range?: ByteRange): Promise<{ meta: BlobMeta; body: Readable } | null> {
    assertValidKey(key);
    if (range) rangeOf(Number.MAX_SAFE_INTEGER, range); // the range's own shape; S3 checks it against the size
    await this.ready();
    try {
      const response = await s3Call(this.options.timeoutMs, (abortSignal) =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }), { abortSignal }),
      );
      const total = response.ContentRange ? Number(response.ContentRange.split('/')[1]) : Number(response.ContentLength ?? 0);
      let body = (response.Body as Readable | undefined) ?? Readable.from([]);
      if (range) body = exactSpan(body, response.ContentRange, range, total);
      return {
        meta: {
          key,
          size: total,
          etag: response.ETag ?? '""',
          contentType: response.ContentType ?? 'application/octet-stream',
          lastModified: response.LastModified ?? new Date(0),
          ...splitStoredFields(response.Metadata),
        },
        body,
      };
    } catch (error) {
      if (isMissingObject(error)) return null;
      if (isUnsatisfiableRange(error)) {
        throw new AppError('range_not_satisfiable', `the range starts at byte ${range?.start} past the end of the object`, { field: 'range' });
      }
      throw error;
    }
  }

  async head(key: string): Promise<BlobMeta | null> {
    assertValidKey(key);
    await this.ready();
    try {
      const response = await s3Call(this.options.timeoutMs, (abortSignal) => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
      return {
        key,
        size: Number(response.ContentLength ?? 0),
        etag: response.ETag ?? '""',
        contentType: response.ContentType ?? 'application/octet-stream',
        lastModified: response.LastModified ?? new Date(0),
        ...splitStoredFields(response.Metadata),
      };
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    // S3 deletes silently whether or not the key exists; the HEAD tells the caller which it was.
    if (!(await this.head(key))) return false;
    await s3Call(this.options.timeoutMs, (abortSignal) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
    return true;
  }

  async list(options: { prefix?: string; limit: number; cursor?: string }): Promise<{ items: BlobMeta[]; nextCursor: string | null }> {
    const { prefix, limit } = listArguments(options);
    await this.ready();
    const listed: { key: string; size: number }[] = [];
    let continuationToken: string | undefined;
    let truncated = false;
    // S3 may answer with fewer keys than asked and a continuation token: follow it to fill the page.
    do {
      const page = await s3Call(this.options.timeoutMs, (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            StartAfter: continuationToken ? undefined : options.cursor || undefined,
            ContinuationToken: continuationToken,
            MaxKeys: limit - listed.length,
          }),
          { abortSignal },
        ),
      );
      for (const object of page.Contents ?? []) if (object.Key) listed.push({ key: object.Key, size: Number(object.Size ?? 0) });
      truncated = page.IsTruncated === true;
      continuationToken = page.NextContinuationToken;
    } while (truncated && continuationToken && listed.length < limit);

    // A listing has no content types: each item's HEAD has them (and skips keys deleted meanwhile).
    const items = (await mapLimited(listed, LIST_HEAD_CONCURRENCY, (item) => this.head(item.key))).filter((meta): meta is BlobMeta => meta !== null);
    return { items, nextCursor: truncated && listed.length ? listed[listed.length - 1].key : null };
  }

  async ping(): Promise<void> {
    await s3Call(this.options.timeoutMs, (abortSignal) => this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal }));
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.streamingClient.destroy();
  }

  private ready(): Promise<void> {
    this.bucketReady ??= this.ensureBucket().catch((error) => {
      this.bucketReady = null;
      throw error;
    });
    return this.bucketReady;
  }

  private async ensureBucket(): Promise<void> {
    try {
      await s3Call(this.options.timeoutMs, (abortSignal) => this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal }));
    } catch (error) {
      if (!isMissingObject(error)) throw error;
      try {
        await s3Call(this.options.timeoutMs, (abortSignal) => this.client.send(new CreateBucketCommand({ Bucket: this.bucket }), { abortSignal }));
        this.options.log?.info({ bucket: this.bucket }, 'created the blob bucket');
      } catch (createError) {
        // Another node created it between our HEAD and our CREATE.
        const name = (createError as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
      }
    }
  }
}

/**
 * The bytes of the range asked for, whatever span the server sent: some S3-compatible servers
 * answer `bytes=0-0` with the whole object (s3rver reads an end of 0 as "no end").
 */
function exactSpan(body: Readable, contentRange: string | undefined, range: ByteRange, size: number): Readable {
  const sent = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  const wantedEnd = Math.min(range.end, size - 1);
  if (sent && Number(sent[1]) === range.start && Number(sent[2]) === wantedEnd) return body;
  if (!sent || Number(sent[1]) !== range.start || Number(sent[2]) < wantedEnd) {
    body.destroy();
    throw new DependencyUnavailableError('s3', new Error(`asked for bytes ${range.start}-${wantedEnd}, got ${contentRange ?? 'no Content-Range'}`));
  }
  let left = wantedEnd - range.start + 1;
  const cut = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (left <= 0) return callback();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      callback(null, part);
      if (left === 0) {
        this.push(null);
        body.destroy();
      }
    },
  });
  body.on('error', (error) => cut.destroy(error));
  return body.pipe(cut);
}

function sdkLogger(log: FastifyBaseLogger | undefined) {
  const debug = (...content: unknown[]) => log?.debug({ s3Sdk: content.map(String).join(' ') }, 'aws sdk');
  return { trace: () => {}, debug, info: debug, warn: debug, error: debug };
}

async function mapLimited<T, R>(items: T[], concurrency: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
