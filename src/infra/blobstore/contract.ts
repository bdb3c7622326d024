// The blob store contract: a key → bytes store. Two drivers (local disk, S3) pass one conformance
// suite. Bodies are streams both ways, so no driver ever holds a whole object in memory.
import type { Readable } from 'node:stream';

export interface BlobMeta {
  key: string;
  size: number;
  /** quoted, as in HTTP: "\"abc123\"" */
  etag: string;
  contentType: string;
  lastModified: Date;
  /** small text fields stored with the object (S3 user metadata), when it was put with some */
  metadata?: Record<string, string>;
  /** sha-256 of the bytes, lowercase hex (kept for every blob put since #22; absent on older ones and on S3 objects over 5 GiB) */
  sha256?: string;
  /** when the blob stops being readable (it answers as missing from then on), when it was put with one */
  expiresAt?: Date;
}

export interface ByteRange {
  /** first byte, inclusive */
  start: number;
  /** last byte, inclusive */
  end: number;
}

export interface PutOptions {
  contentType?: string;
  /** known length, when the caller has one (lets S3 skip multipart for small bodies) */
  contentLength?: number;
  /** small text fields kept with the object: lowercase names [a-z0-9-], printable ASCII values, 2 KB in all */
  metadata?: Record<string, string>;
  /** aborts the put (the request is cut, nothing is stored); the put rejects with the signal's reason */
  signal?: AbortSignal;
  /**
   * kept with the blob (BlobMeta.expiresAt); the store still serves it after — the blobs module
   * answers an expired blob as missing and a scheduled sweep removes it
   */
  expiresAt?: Date;
  /**
   * digests the client sent, checked while the bytes stream in: a mismatch stores nothing (the
   * previous version stays) and rejects with a validation AppError naming `header`
   */
  digests?: DigestCheck[];
  /**
   * a create-only put: stored only when no object is at the key, decided atomically against every
   * other writer of the store (any process, any node); when one is there, nothing is stored and the
   * put rejects with BlobExistsError. Only a store whose `createsAtomically()` is true takes it.
   */
  createOnly?: boolean;
}

/** A create-only put found an object at its key (PutOptions.createOnly). */
export class BlobExistsError extends Error {
  constructor(readonly key: string) {
    super(`an object exists at ${JSON.stringify(key)}`);
  }
}

export interface DigestCheck {
  algorithm: 'md5' | 'sha256';
  expected: Buffer;
  /** the request header it came from (Content-MD5, Repr-Digest, Content-Digest, x-amz-checksum-sha256), for the 400 */
  header: string;
}

export interface BlobStore {
  readonly driver: 'disk' | 's3';
  /**
   * whether put takes PutOptions.createOnly: the disk store always (link(2) fails on an existing
   * name); the S3 store when its server honours If-None-Match (S3, MinIO, moto; not s3rver)
   */
  createsAtomically(): Promise<boolean>;
  /** Resolves once the object is durable: any node reading the store sees it from then on. */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<BlobMeta>;
  /**
   * null when there is no such key. A range's end is clipped to the object; a range that starts
   * past the end is an AppError range_not_satisfiable.
   */
  get(key: string, range?: ByteRange): Promise<{ meta: BlobMeta; body: Readable } | null>;
  head(key: string): Promise<BlobMeta | null>;
  /** true when something was deleted */
  delete(key: string): Promise<boolean>;
  /** keys in lexical order after the cursor */
  list(options: { prefix?: string; limit: number; cursor?: string }): Promise<{ items: BlobMeta[]; nextCursor: string | null }>;
  /**
   * How many objects the store holds and their total size, from a cheap source (a running total,
   * not a listing); optional: the dashboard shows what it can without it.
   */
  stats?(): Promise<{ count: number; bytes: number }>;
  /** throws a DependencyUnavailableError when the store cannot be reached */
  ping(): Promise<void>;
  close(): Promise<void>;
}
