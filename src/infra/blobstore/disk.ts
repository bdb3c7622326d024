// The embedded blob store: objects on local disk under <data dir>/blobs (layout in disk-layout.ts).
// A put streams into a temporary file, fsyncs it, renames it into place and fsyncs the directory,
// so a put that resolved survives a crash or a power cut, and a reader never sees half an object.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AppError, DependencyUnavailableError } from '../../errors.js';
import { callDependency } from '../dependency-errors.js';
import { type BlobMeta, BlobExistsError, type BlobStore, type ByteRange, type PutOptions } from './contract.js';
import {
  type StoredMeta,
  TRAILER_FIXED_BYTES,
  TRAILER_MAGIC,
  encodeTrailer,
  hexToKey,
  keyToHex,
  objectPath,
  sortTreeEntries,
} from './disk-layout.js';
import { type BodyDigests, BodyHasher, checkDigests, digestsOfBuffer } from './digests.js';
import { DirectorySyncs } from './directory-syncs.js';
import { assertValidKey } from './keys.js';
import { splitStoredFields, withStoredFields } from './stored-fields.js';
import { checkContentLength, checkMetadata, listArguments, rangeOf } from './store-rules.js';

export interface DiskBlobStoreOptions {
  /** the store's root: <data dir>/blobs */
  dir: string;
  /** deadline of ping(), as for every dependency */
  timeoutMs: number;
}

// Errors that mean the disk cannot serve us (full, read-only, failing), not that a key is missing.
const DISK_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE']);
// Temporary files of puts that crashed; a put in progress in another process is far younger than this.
const STALE_TEMP_MS = 3_600_000;

export class DiskBlobStore implements BlobStore {
  readonly driver = 'disk' as const;
  private readonly objectsDir: string;
  private readonly tempDir: string;
  private readonly directorySyncs = new DirectorySyncs();

  constructor(private readonly options: DiskBlobStoreOptions) {
    this.objectsDir = path.join(options.dir, 'objects');
    this.tempDir = path.join(options.dir, 'tmp');
    fs.mkdirSync(this.objectsDir, { recursive: true });
    fs.mkdirSync(this.tempDir, { recursive: true });
    this.removeStaleTempFiles();
  }

  async createsAtomically(): Promise<boolean> {
    return true;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<BlobMeta> {
    assertValidKey(key);
    checkMetadata(options.metadata);
    const temp = path.join(this.tempDir, randomUUID());
    let handle: FileHandle | undefined;
    try {
      let size: number;
      let digests: BodyDigests;
      if (Buffer.isBuffer(body)) {
        // checked before a file is made (a large body hashed off this thread); written with its trailer below, in one call
        checkContentLength(options.contentLength, body.length);
        digests = await digestsOfBuffer(body, options.digests, { md5: true });
        size = body.length;
        options.signal?.throwIfAborted();
        handle = await fs.promises.open(temp, 'wx');
      } else {
        handle = await fs.promises.open(temp, 'wx');
        const hasher = new BodyHasher({ md5: true });
        for await (const chunk of body as AsyncIterable<Buffer>) {
          options.signal?.throwIfAborted();
          hasher.update(chunk);
          await writeAll(handle, chunk);
        }
        size = hasher.size;
        checkContentLength(options.contentLength, size);
        digests = hasher.digest();
        // before the rename: a body whose digest is wrong never replaces the version there
        checkDigests(options.digests, digests);
      }
      const metadata = withStoredFields(options.metadata, { sha256: digests.sha256, expiresAt: options.expiresAt });
      const meta: StoredMeta = {
        key,
        contentType: options.contentType || 'application/octet-stream',
        etag: `"${digests.md5!.toString('hex')}"`,
        lastModified: Date.now(),
        ...(metadata ? { metadata } : {}),
      };
      if (Buffer.isBuffer(body)) await writeAllOf(handle, [body, encodeTrailer(meta)]);
      else await writeAll(handle, encodeTrailer(meta));
      await handle.sync();
      await handle.close();
      handle = undefined;
      options.signal?.throwIfAborted();
      await this.publish(temp, objectPath(this.objectsDir, key), options.createOnly === true ? key : undefined);
      return toBlobMeta(meta, size);
    } catch (error) {
      if (!Buffer.isBuffer(body) && !body.destroyed) body.destroy();
      await handle?.close().catch(() => {});
      await fs.promises.rm(temp, { force: true }).catch(() => {});
      if (error instanceof BlobExistsError) throw error;
      throw diskError(error);
    }
  }

  async get(key: string, range?: ByteRange): Promise<{ meta: BlobMeta; body: Readable } | null> {
    assertValidKey(key);
    const opened = await this.open(key, true);
    if (!opened) return null;
    const { handle, meta } = opened;
    if (!handle) {
      const { start, end } = rangeOf(meta.size, range);
      return { meta, body: Readable.from(end < start ? [] : [opened.whole.subarray(start, end + 1)]) };
    }
    try {
      const { start, end } = rangeOf(meta.size, range);
      if (end < start) {
        await handle.close();
        return { meta, body: Readable.from([]) };
      }
      // The stream owns the handle from here: it closes it at the end, on error and when destroyed.
      return { meta, body: handle.createReadStream({ start, end, autoClose: true }) };
    } catch (error) {
      await handle.close().catch(() => {});
      throw diskError(error);
    }
  }

  async head(key: string): Promise<BlobMeta | null> {
    assertValidKey(key);
    const opened = await this.open(key, false);
    if (!opened) return null;
    await opened.handle?.close();
    return opened.meta;
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    const file = objectPath(this.objectsDir, key);
    try {
      await fs.promises.unlink(file);
    } catch (error) {
      if (isMissing(error)) return false;
      throw diskError(error);
    }
    await this.removeEmptyParents(path.dirname(file));
    return true;
  }

  async list(options: { prefix?: string; limit: number; cursor?: string }): Promise<{ items: BlobMeta[]; nextCursor: string | null }> {
    const { prefix, limit } = listArguments(options);
    const prefixHex = keyToHex(prefix);
    const cursorHex = options.cursor ? keyToHex(options.cursor) : '';
    const items: BlobMeta[] = [];
    let more = false;
    try {
      // One past the limit tells whether there is a next page without a second walk.
      for await (const meta of this.walk(this.objectsDir, '', prefixHex, cursorHex)) {
        if (items.length === limit) {
          more = true;
          break;
        }
        items.push(meta);
      }
    } catch (error) {
      throw diskError(error);
    }
    return { items, nextCursor: more ? items[items.length - 1].key : null };
  }

  ping(): Promise<void> {
    return callDependency('disk', this.options.timeoutMs, async () => {
      try {
        await fs.promises.access(this.objectsDir, fs.constants.R_OK | fs.constants.W_OK);
        await fs.promises.access(this.tempDir, fs.constants.W_OK);
      } catch (error) {
        throw new DependencyUnavailableError('disk', error);
      }
    });
  }

  async close(): Promise<void> {}

  /** Keys in lexical order below `dir`, whose keys' hex all start with `hexSoFar`. */
  private async *walk(dir: string, hexSoFar: string, prefixHex: string, cursorHex: string): AsyncGenerator<BlobMeta> {
    let dirents: fs.Dirent[];
    try {
      dirents = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return; // removed by a delete while we walked
      throw error;
    }
    const entries = sortTreeEntries(dirents.map((d) => ({ name: d.name, isDirectory: d.isDirectory() })));
    for (const entry of entries) {
      const hex = hexSoFar + entry.chunk;
      // Entries are in key order: once past the prefix's range, nothing further can match.
      if (hex > prefixHex && !hex.startsWith(prefixHex)) return;
      if (entry.kind === 'file') {
        if (!hex.startsWith(prefixHex) || (cursorHex && hex <= cursorHex)) continue;
        const opened = await this.open(hexToKey(hex), false);
        if (!opened) continue; // deleted since readdir
        await opened.handle?.close();
        yield opened.meta;
      } else {
        // Every key below starts with `hex` and is longer: skip the subtree when all of it is
        // outside the prefix or at or before the cursor.
        if (!hex.startsWith(prefixHex) && !prefixHex.startsWith(hex)) continue;
        if (cursorHex && hex < cursorHex && !cursorHex.startsWith(hex)) continue;
        yield* this.walk(path.join(dir, entry.chunk), hex, prefixHex, cursorHex);
      }
    }
  }

  /**
   * Opens an object and reads its metadata; null when there is no such key. `readWhole` (a GET):
   * a file shorter than WHOLE_READ_BYTES is read whole by the first read and closed, and its body
   * comes back in memory — open, read, close, where reading the trailer and then streaming the
   * body took six calls to the thread pool, each a round trip through its queue, for 1 KB.
   */
  private async open(key: string, readWhole: boolean): Promise<OpenedObject | null> {
    let handle: FileHandle;
    try {
      handle = await fs.promises.open(objectPath(this.objectsDir, key), 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw diskError(error);
    }
    try {
      if (readWhole) {
        const start = await readUpTo(handle, 0, WHOLE_READ_BYTES);
        if (start.length < WHOLE_READ_BYTES) {
          const { stored, size } = trailerOf(start, start.length, key);
          await handle.close();
          return { meta: toBlobMeta(stored!, size), whole: start.subarray(0, size) };
        }
      }
      const { size: fileSize } = await handle.stat();
      const tail = await readAt(handle, Math.max(0, fileSize - TAIL_READ_BYTES), Math.min(fileSize, TAIL_READ_BYTES));
      const { stored, size, jsonLength } = trailerOf(tail, fileSize, key);
      return { handle, meta: toBlobMeta(stored ?? (JSON.parse((await readAt(handle, size, jsonLength)).toString('utf8')) as StoredMeta), size) };
    } catch (error) {
      await handle.close().catch(() => {});
      throw diskError(error);
    }
  }

  /**
   * Moves the temporary file into place. `createOnlyKey`: only when nothing is there — a hard link
   * fails on an existing name, atomically for every process sharing the directory (rename would
   * replace it); the temporary name is removed after.
   */
  private async publish(temp: string, final: string, createOnlyKey?: string): Promise<void> {
    const parent = path.dirname(final);
    // A concurrent delete may remove a directory that has just become empty, between our mkdir
    // and our rename: make it again and retry.
    for (let attempt = 0; ; attempt++) {
      // the objects directory itself is made by the constructor and never removed
      const firstCreated = parent === this.objectsDir ? undefined : await fs.promises.mkdir(parent, { recursive: true });
      try {
        if (createOnlyKey === undefined) await fs.promises.rename(temp, final);
        else await fs.promises.link(temp, final);
      } catch (error) {
        if (isMissing(error) && attempt < 5) continue;
        if ((error as { code?: string }).code === 'EEXIST' && createOnlyKey !== undefined) throw new BlobExistsError(createOnlyKey);
        throw error;
      }
      // the catch of put removes the temporary file when publishing failed
      if (createOnlyKey !== undefined) await fs.promises.unlink(temp);
      // The rename is durable once its directory is synced; a new directory's own entry lives in
      // its parent, so every directory from the first one created upwards is synced too.
      const toSync = [parent];
      if (firstCreated) {
        for (let dir = parent; dir !== path.dirname(firstCreated) && dir !== path.dirname(dir); dir = path.dirname(dir)) toSync.push(path.dirname(dir));
      }
      // concurrent puts into one directory share its fsync (directory-syncs.ts)
      await Promise.all([...new Set(toSync)].map((dir) => this.directorySyncs.sync(dir)));
      return;
    }
  }

  private async removeEmptyParents(dir: string): Promise<void> {
    for (let current = dir; current !== this.objectsDir && current.startsWith(this.objectsDir); current = path.dirname(current)) {
      try {
        await fs.promises.rmdir(current);
      } catch {
        return; // not empty (or already gone): the directories above are not empty either
      }
    }
  }

  private removeStaleTempFiles(): void {
    const now = Date.now();
    for (const name of fs.readdirSync(this.tempDir)) {
      const file = path.join(this.tempDir, name);
      try {
        if (now - fs.statSync(file).mtimeMs > STALE_TEMP_MS) fs.rmSync(file, { force: true });
      } catch {
        // another process removed it first
      }
    }
  }
}

function toBlobMeta(stored: StoredMeta, size: number): BlobMeta {
  return {
    key: stored.key,
    size,
    etag: stored.etag,
    contentType: stored.contentType,
    lastModified: new Date(stored.lastModified),
    ...splitStoredFields(stored.metadata),
  };
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Writes the buffers in order with as few calls as the kernel allows (one, as a rule). */
async function writeAllOf(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let { bytesWritten } = await handle.writev(buffers);
  for (const buffer of buffers) {
    if (bytesWritten >= buffer.length) {
      bytesWritten -= buffer.length;
      continue;
    }
    await writeAll(handle, buffer.subarray(bytesWritten));
    bytesWritten = 0;
  }
}

/** An object opened: its handle, or (read whole) its body in memory with the handle closed. */
type OpenedObject = { meta: BlobMeta } & ({ handle: FileHandle; whole?: undefined } | { handle?: undefined; whole: Buffer });

/** What a GET reads in its first call: a file this short (body, metadata, trailer) is read whole. */
const WHOLE_READ_BYTES = 16 * 1024;
/** What is read from a file's end for its trailer: the fixed part and, nearly always, the metadata before it. */
const TAIL_READ_BYTES = 4 * 1024;

/**
 * The trailer of a file of `fileSize` bytes whose last `tail.length` bytes are `tail`: the body's
 * size, the metadata's length, and the metadata when the tail holds it (null when it begins before).
 */
function trailerOf(tail: Buffer, fileSize: number, key: string): { size: number; jsonLength: number; stored: StoredMeta | null } {
  if (tail.length < TRAILER_FIXED_BYTES) throw new Error('blob file is shorter than its trailer');
  const fixed = tail.subarray(tail.length - TRAILER_FIXED_BYTES);
  if (!fixed.subarray(4).equals(TRAILER_MAGIC)) throw new Error(`blob file of key ${JSON.stringify(key)} has no valid trailer`);
  const jsonLength = fixed.readUInt32BE(0);
  const size = fileSize - TRAILER_FIXED_BYTES - jsonLength;
  if (size < 0) throw new Error('blob file is shorter than its trailer');
  const jsonStart = tail.length - TRAILER_FIXED_BYTES - jsonLength;
  const stored = jsonStart < 0 ? null : (JSON.parse(tail.subarray(jsonStart, tail.length - TRAILER_FIXED_BYTES).toString('utf8')) as StoredMeta);
  return { size, jsonLength, stored };
}

/** `length` bytes of the file from `position`, fewer only where the file ends. */
async function readUpTo(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  if (position < 0) throw new Error('blob file is shorter than its trailer');
  const buffer = await readUpTo(handle, position, length);
  if (buffer.length < length) throw new Error('blob file ended early');
  return buffer;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function diskError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const code = (error as { code?: string }).code;
  return code && DISK_FAILURES.has(code) ? new DependencyUnavailableError('disk', error) : error;
}

