// What the routes call: the store, with write-behind in front of it when it is on. Puts of small
// objects go to the fast tier, larger ones stream straight to the store; reads look in the fast
// tier first, so an object is readable from any node the moment its put returned.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobMeta, BlobStore, ByteRange } from '../../infra/blobstore/contract.js';
import { assertValidKey, assertValidPrefix } from '../../infra/blobstore/keys.js';
import { checkContentLength, listLimit, rangeOf } from '../../infra/blobstore/store-rules.js';
import { type WriteBehind, pendingToMeta } from './write-behind.js';

/** Write-behind takes objects up to this size; larger ones would make the fast tier a second store. */
export const WRITE_BEHIND_MAX_BYTES = 1024 * 1024;

export interface PutRequest {
  contentType: string;
  /** from Content-Length; absent for a chunked body */
  contentLength?: number;
  metadata?: Record<string, string>;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class BlobService {
  constructor(
    readonly store: BlobStore,
    readonly writeBehind: WriteBehind | null,
  ) {}

  async put(key: string, body: Readable, request: PutRequest): Promise<BlobMeta> {
    assertValidKey(key);
    if (!this.writeBehind) return this.store.put(key, body, request);
    if (request.contentLength !== undefined && request.contentLength <= WRITE_BEHIND_MAX_BYTES) {
      const { head, ended } = await readHead(body, request.contentLength + 1);
      const bytes = Buffer.concat(head);
      if (!ended) body.destroy();
      checkContentLength(request.contentLength, bytes.length);
      return this.putSmall(key, bytes, request);
    }
    if (request.contentLength === undefined) {
      // A chunked body: read up to the write-behind limit; past it, what was read and the rest
      // of the body stream on to the store together.
      const { head, ended } = await readHead(body, WRITE_BEHIND_MAX_BYTES + 1);
      if (ended) return this.putSmall(key, Buffer.concat(head), request);
      return this.putThrough(key, Readable.from(concat(head, body)), request);
    }
    return this.putThrough(key, body, request);
  }

  /** A body already in memory (the JSON routes). */
  async putBuffer(key: string, bytes: Buffer, request: PutRequest): Promise<BlobMeta> {
    assertValidKey(key);
    if (this.writeBehind && bytes.length <= WRITE_BEHIND_MAX_BYTES) return this.putSmall(key, bytes, request);
    return this.putThrough(key, bytes, request);
  }

  private putSmall(key: string, bytes: Buffer, request: PutRequest): Promise<BlobMeta> {
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    return this.writeBehind!.put(key, bytes, { etag, contentType: request.contentType, metadata: request.metadata });
  }

  private async putThrough(key: string, body: Readable | Buffer, request: PutRequest): Promise<BlobMeta> {
    // A smaller version still waiting in the fast tier must reach the store before this one.
    await this.writeBehind?.settle(key, 'upload');
    return this.store.put(key, body, { contentType: request.contentType, contentLength: request.contentLength, metadata: request.metadata });
  }

  async head(key: string): Promise<BlobMeta | null> {
    assertValidKey(key);
    const pending = await this.writeBehind?.tier.head(key);
    return pending ? pendingToMeta(pending) : this.store.head(key);
  }

  async get(key: string, range?: ByteRange): Promise<{ meta: BlobMeta; body: Readable } | null> {
    assertValidKey(key);
    const pending = await this.writeBehind?.tier.get(key);
    if (!pending) return this.store.get(key, range);
    const { start, end } = rangeOf(pending.size, range);
    return { meta: pendingToMeta(pending), body: Readable.from([pending.bytes.subarray(start, end + 1)]) };
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    const discarded = (await this.writeBehind?.settle(key, 'discard')) ?? false;
    const deleted = await this.store.delete(key);
    return discarded || deleted;
  }

  async list(options: { prefix?: string; limit: number; cursor?: string }): Promise<{ items: BlobMeta[]; nextCursor: string | null }> {
    const prefix = options.prefix ?? '';
    assertValidPrefix(prefix);
    if (options.cursor !== undefined) assertValidPrefix(options.cursor, 'cursor');
    const limit = listLimit(options.limit);
    if (!this.writeBehind) return this.store.list({ prefix, limit, cursor: options.cursor });
    // The fast tier first: an entry uploaded between the two reads is then in the store's answer.
    const pending = await this.writeBehind.tier.list({ prefix, cursor: options.cursor, limit });
    const stored = await this.store.list({ prefix, limit, cursor: options.cursor });
    // Pending entries are newer than what the store holds under their key.
    const merged = new Map(stored.items.map((item) => [item.key, item]));
    for (const entry of pending) merged.set(entry.key, pendingToMeta(entry));
    const items = [...merged.values()].sort((a, b) => byteOrder(a.key, b.key));
    const page = items.slice(0, limit);
    // Each source gave up to `limit` keys after the cursor, so the first `limit` merged keys are
    // exactly the next page; there is more when either source was cut or the merge overflowed.
    const more = items.length > limit || stored.nextCursor !== null || pending.length === limit;
    return { items: page, nextCursor: more && page.length ? page[page.length - 1].key : null };
  }
}

/** Reads until the body ends or `atLeast` bytes came; the stream is left where reading stopped. */
async function readHead(body: Readable, atLeast: number): Promise<{ head: Buffer[]; ended: boolean }> {
  const head: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      head.push(chunk);
      size += chunk.length;
      if (size >= atLeast) {
        body.pause();
        cleanup();
        resolve({ head, ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ head, ended: true });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}

async function* concat(head: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}
