// What the routes call: the store, with write-behind in front of it when it is on. Puts of small
// objects go to the fast tier, larger ones stream straight to the store; reads look in the fast
// tier first, so an object is readable from any node the moment its put returned. Conditional
// writes (If-Match, If-None-Match) hold the key's lock from their check to their write; a blob past
// its expiry answers as missing, and the sweep removes it.
import { Readable } from 'node:stream';
import { AppError } from '../../errors.js';
import { type BlobMeta, BlobExistsError, type BlobStore, type ByteRange, type DigestCheck } from '../../infra/blobstore/contract.js';
import { digestsOfBuffer } from '../../infra/blobstore/digests.js';
import { assertValidKey, assertValidPrefix } from '../../infra/blobstore/keys.js';
import { checkContentLength, listLimit, rangeOf } from '../../infra/blobstore/store-rules.js';
import { hasExpired, withStoredFields } from '../../infra/blobstore/stored-fields.js';
import type { ExpiryIndex } from './expiry-index.js';
import type { KeyLocks } from './key-locks.js';
import { type WriteBehind, pendingToMeta } from './write-behind.js';

/** Write-behind takes objects up to this size; larger ones would make the fast tier a second store. */
export const WRITE_BEHIND_MAX_BYTES = 1024 * 1024;

/** RFC 9110 §13.1: the version a write may replace. */
export interface WriteConditions {
  /** '*': some version must be there; else one of these entity tags (strong comparison) */
  ifMatch?: '*' | string[];
  /** '*': no version may be there (create only); else none of these entity tags */
  ifNoneMatch?: '*' | string[];
}

export interface PutRequest {
  contentType: string;
  /** from Content-Length; absent for a chunked body */
  contentLength?: number;
  metadata?: Record<string, string>;
  conditions?: WriteConditions;
  /** checked while the bytes arrive: a mismatch stores nothing */
  digests?: DigestCheck[];
  /** the blob answers as missing from then on */
  expiresAt?: Date;
}

/** Create-only bodies up to this size are read into memory and created without a look first. */
const CREATE_IN_MEMORY_MAX_BYTES = 1024 * 1024;

/** A create that lost to another writer between its look and its write: the 412 it would have met. */
const existsIsPreconditionFailed = (key: string) => (error: unknown): never => {
  if (error instanceof BlobExistsError) throw new AppError('precondition_failed', `blob ${key} exists and the write was made with If-None-Match: *`, { field: 'if-none-match' });
  throw error;
};

const hasConditions = (conditions: WriteConditions | undefined): conditions is WriteConditions => Boolean(conditions?.ifMatch || conditions?.ifNoneMatch);
const weak = (tag: string) => tag.replace(/^W\//, '');

/** Throws 412 naming the header whose condition the version there (or its absence) fails. */
export function checkWriteConditions(key: string, current: BlobMeta | null, conditions: WriteConditions): void {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch) {
    // If-Match compares strongly: a weak tag never matches
    const holds = current !== null && (ifMatch === '*' || ifMatch.includes(current.etag));
    if (!holds) {
      throw new AppError('precondition_failed', `blob ${key} ${current ? `is at ${current.etag}` : 'does not exist'}, not at the If-Match ${ifMatch === '*' ? '*' : ifMatch.join(', ')}`, { field: 'if-match' });
    }
  }
  if (ifNoneMatch && current) {
    // If-None-Match compares weakly
    const hits = ifNoneMatch === '*' || ifNoneMatch.some((tag) => weak(tag) === weak(current.etag));
    if (hits) throw new AppError('precondition_failed', `blob ${key} exists${ifNoneMatch === '*' ? '' : ` at ${current.etag}`} and the write was made with If-None-Match: ${ifNoneMatch === '*' ? '*' : ifNoneMatch.join(', ')}`, { field: 'if-none-match' });
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class BlobService {
  constructor(
    readonly store: BlobStore,
    readonly writeBehind: WriteBehind | null,
    private readonly locks: KeyLocks,
    /** where puts with an expiry are noted for the sweep (null: the sweep walks the store) */
    private readonly expiries: ExpiryIndex | null = null,
  ) {}

  async put(key: string, body: Readable, request: PutRequest): Promise<BlobMeta> {
    assertValidKey(key);
    if (hasConditions(request.conditions)) {
      const conditions = request.conditions;
      if (await this.createsWithoutLock(conditions)) {
        if (request.contentLength !== undefined && request.contentLength <= CREATE_IN_MEMORY_MAX_BYTES) {
          return this.createInMemory(key, await readAnnounced(body, request.contentLength), request, conditions);
        }
        if (await this.nothingLiveAt(key, conditions, body)) return this.createAtomically(key, body, request).catch(existsIsPreconditionFailed(key));
        return this.locks.withLock(key, () => this.createOverExpired(key, body, request, conditions));
      }
      return this.locks.withLock(key, async () => {
        try {
          checkWriteConditions(key, await this.head(key), conditions);
        } catch (error) {
          body.destroy();
          throw error;
        }
        return this.putStream(key, body, request);
      });
    }
    return this.putStream(key, body, request);
  }

  /** A body already in memory (the JSON routes). */
  async putBuffer(key: string, bytes: Buffer, request: PutRequest): Promise<BlobMeta> {
    assertValidKey(key);
    const write = async () => {
      if (request.expiresAt) await this.noteExpiry(key, request.expiresAt);
      return this.writeBehind && bytes.length <= WRITE_BEHIND_MAX_BYTES ? this.putSmall(key, bytes, request) : this.putThrough(key, bytes, request);
    };
    if (!hasConditions(request.conditions)) return write();
    const conditions = request.conditions;
    if (await this.createsWithoutLock(conditions)) return this.createInMemory(key, bytes, request, conditions);
    return this.locks.withLock(key, async () => {
      checkWriteConditions(key, await this.head(key), conditions);
      return write();
    });
  }

  /**
   * A create-only write (If-None-Match: * alone) needs no lock on a store that creates atomically
   * (the disk store's link, S3's own If-None-Match), when no write-behind tier may hold a version
   * the store has not.
   */
  private async createsWithoutLock(conditions: WriteConditions): Promise<boolean> {
    return conditions.ifNoneMatch === '*' && !conditions.ifMatch && !this.writeBehind && (await this.store.createsAtomically());
  }

  /**
   * A body in memory goes straight to the store's create: no look first (on S3 a look is a
   * request as long as the put). When something is there, a live blob is the 412; an expired one
   * the sweep has not removed yet is replaced under the key's lock, as a locked write would.
   */
  private async createInMemory(key: string, bytes: Buffer, request: PutRequest, conditions: WriteConditions): Promise<BlobMeta> {
    try {
      return await this.createAtomically(key, bytes, request);
    } catch (error) {
      if (!(error instanceof BlobExistsError)) throw error;
    }
    return this.locks.withLock(key, () => this.createOverExpired(key, bytes, request, conditions));
  }

  /**
   * Under the key's lock: a blob past its expiry is removed first, so that the write stays a create
   * (a writer taking no lock may create meanwhile, and then wins); a live one is the 412.
   */
  private async createOverExpired(key: string, body: Readable | Buffer, request: PutRequest, conditions: WriteConditions): Promise<BlobMeta> {
    const current = await this.removeIfExpired(key, null, Date.now());
    if (current !== 'removed' && current !== null) {
      if (!Buffer.isBuffer(body)) body.destroy();
      checkWriteConditions(key, current, conditions);
    }
    return this.createAtomically(key, body, request).catch(existsIsPreconditionFailed(key));
  }

  /**
   * Before a streamed create: true when nothing is at the key, so a large body is not sent only to
   * be refused. Throws the 412 at once when a live blob is there; false when the store holds an
   * expired one, which the write replaces under the lock (createOverExpired).
   */
  private async nothingLiveAt(key: string, conditions: WriteConditions, body: Readable): Promise<boolean> {
    const there = await this.store.head(key);
    if (there === null) return true;
    if (hasExpired(there)) return false;
    body.destroy();
    checkWriteConditions(key, there, conditions);
    return false; // not reached: a live blob fails If-None-Match: *
  }

  /** Rejects with BlobExistsError when something is at the key. */
  private async createAtomically(key: string, body: Readable | Buffer, request: PutRequest): Promise<BlobMeta> {
    if (request.expiresAt) await this.noteExpiry(key, request.expiresAt, Buffer.isBuffer(body) ? undefined : body);
    return this.store.put(key, body, { ...this.storeOptions(request), createOnly: true });
  }

  private async putStream(key: string, body: Readable, request: PutRequest): Promise<BlobMeta> {
    if (request.expiresAt) await this.noteExpiry(key, request.expiresAt, body);
    if (!this.writeBehind) return this.store.put(key, body, this.storeOptions(request));
    if (request.contentLength !== undefined && request.contentLength <= WRITE_BEHIND_MAX_BYTES) {
      return this.putSmall(key, await readAnnounced(body, request.contentLength), request);
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

  /** Before the bytes: a blob that expires is always found by the sweep. */
  private async noteExpiry(key: string, expiresAt: Date, body?: Readable): Promise<void> {
    try {
      await this.expiries?.record(key, expiresAt);
    } catch (error) {
      body?.destroy();
      throw error;
    }
  }

  private storeOptions(request: PutRequest) {
    return { contentType: request.contentType, contentLength: request.contentLength, metadata: request.metadata, digests: request.digests, expiresAt: request.expiresAt };
  }

  private async putSmall(key: string, bytes: Buffer, request: PutRequest): Promise<BlobMeta> {
    // checked before the fast tier acknowledges anything: a wrong body never becomes a version
    const { md5, sha256 } = await digestsOfBuffer(bytes, request.digests, { md5: true });
    const etag = `"${md5!.toString('hex')}"`;
    const metadata = withStoredFields(request.metadata, { sha256, expiresAt: request.expiresAt });
    return this.writeBehind!.put(key, bytes, { etag, contentType: request.contentType, metadata });
  }

  private async putThrough(key: string, body: Readable | Buffer, request: PutRequest): Promise<BlobMeta> {
    // A smaller version still waiting in the fast tier must reach the store before this one.
    await this.writeBehind?.settle(key, 'upload');
    return this.store.put(key, body, this.storeOptions(request));
  }

  /** The blob's headers; null when there is none or it has expired. */
  async head(key: string): Promise<BlobMeta | null> {
    assertValidKey(key);
    const pending = await this.writeBehind?.tier.head(key);
    const meta = pending ? pendingToMeta(pending) : await this.store.head(key);
    return meta && !hasExpired(meta) ? meta : null;
  }

  async get(key: string, range?: ByteRange): Promise<{ meta: BlobMeta; body: Readable } | null> {
    assertValidKey(key);
    const pending = await this.writeBehind?.tier.get(key);
    if (!pending) {
      const found = await this.store.get(key, range);
      if (found && hasExpired(found.meta)) {
        found.body.destroy();
        return null;
      }
      return found;
    }
    const meta = pendingToMeta(pending);
    if (hasExpired(meta)) return null;
    const { start, end } = rangeOf(pending.size, range);
    return { meta, body: Readable.from([pending.bytes.subarray(start, end + 1)]) };
  }

  /** true when a blob was there to delete (an expired one counts as gone). */
  async delete(key: string, conditions?: Pick<WriteConditions, 'ifMatch'>): Promise<boolean> {
    assertValidKey(key);
    if (!conditions?.ifMatch) return this.deleteNow(key);
    const ifMatch = conditions.ifMatch;
    return this.locks.withLock(key, async () => {
      checkWriteConditions(key, await this.head(key), { ifMatch });
      return this.deleteNow(key);
    });
  }

  private async deleteNow(key: string): Promise<boolean> {
    const live = (await this.head(key)) !== null;
    const discarded = (await this.writeBehind?.settle(key, 'discard')) ?? false;
    const deleted = await this.store.delete(key);
    return live && (discarded || deleted);
  }

  /**
   * Removes blobs whose expiry has passed, each only while it is still the expired version (a put
   * since then stays); returns how many. With an expiry index, reads the due keys from it, `limit`
   * at most; without one, walks the store.
   */
  async sweepExpired(now = Date.now(), limit = 500): Promise<number> {
    let removed = 0;
    if (this.expiries) {
      for (const key of await this.expiries.due(now, limit)) {
        const current = await this.locks.withLock(key, () => this.removeIfExpired(key, null, now));
        if (current === 'removed') removed++;
        await this.expiries.settle(key, current === 'removed' || current === null ? null : (current.expiresAt ?? null));
      }
      return removed;
    }
    let cursor: string | undefined;
    do {
      const page = await this.listAll({ limit, cursor });
      for (const item of page.items) {
        if (hasExpired(item, now) && (await this.locks.withLock(item.key, () => this.removeIfExpired(item.key, item.etag, now))) === 'removed') removed++;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return removed;
  }

  /** Under the key's lock: removes the blob when it is expired (and still at `etag`, when given); else what is there. */
  private async removeIfExpired(key: string, etag: string | null, now: number): Promise<'removed' | BlobMeta | null> {
    const pending = await this.writeBehind?.tier.head(key);
    const current = pending ? pendingToMeta(pending) : await this.store.head(key);
    if (!current || (etag !== null && current.etag !== etag) || !hasExpired(current, now)) return current;
    await this.writeBehind?.settle(key, 'discard');
    await this.store.delete(key);
    return 'removed';
  }

  /** A page of live blobs (expired ones left out), in byte order of their keys. */
  async list(options: { prefix?: string; limit: number; cursor?: string }): Promise<{ items: BlobMeta[]; nextCursor: string | null }> {
    const page = await this.listAll(options);
    const now = Date.now();
    return { items: page.items.filter((item) => !hasExpired(item, now)), nextCursor: page.nextCursor };
  }

  private async listAll(options: { prefix?: string; limit: number; cursor?: string }): Promise<{ items: BlobMeta[]; nextCursor: string | null }> {
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

/** A body of announced length, read whole; one longer or shorter is the 400 checkContentLength gives. */
async function readAnnounced(body: Readable, contentLength: number): Promise<Buffer> {
  const { head, ended } = await readHead(body, contentLength + 1);
  if (!ended) body.destroy();
  const bytes = Buffer.concat(head);
  checkContentLength(contentLength, bytes.length);
  return bytes;
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
