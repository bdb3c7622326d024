// The digests of a blob's bytes: computed while they stream in, checked against what the client
// sent (Content-MD5, Repr-Digest, …) before the store publishes anything, and the sha-256 kept.
import { type Hash, createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError, validationError } from '../../errors.js';
import type { DigestCheck } from './contract.js';
import { THREAD_MIN_BYTES, digestOnThread } from './digest-thread.js';

export interface BodyDigests {
  /** present when asked for (the disk store's etag, a Content-MD5 check) */
  md5?: Buffer;
  sha256: Buffer;
}

/** md5 and sha-256 of bytes fed in pieces; md5 only when someone needs it (it costs as much again). */
export class BodyHasher {
  private readonly md5: Hash | null;
  private readonly sha256 = createHash('sha256');
  size = 0;

  constructor(options: { md5: boolean }) {
    this.md5 = options.md5 ? createHash('md5') : null;
  }

  update(chunk: Buffer): void {
    this.size += chunk.length;
    this.md5?.update(chunk);
    this.sha256.update(chunk);
  }

  digest(): BodyDigests {
    return { ...(this.md5 ? { md5: this.md5.digest() } : {}), sha256: this.sha256.digest() };
  }
}

export const needsMd5 = (checks: DigestCheck[] | undefined) => checks?.some((check) => check.algorithm === 'md5') ?? false;

/** The sha-256 a check promises, when one does: a store can then record it before the bytes arrive. */
export const promisedSha256 = (checks: DigestCheck[] | undefined) => checks?.find((check) => check.algorithm === 'sha256')?.expected;

/** Throws a 400 naming the header whose digest the bytes do not have. */
export function checkDigests(checks: DigestCheck[] | undefined, digests: BodyDigests): void {
  for (const check of checks ?? []) {
    const actual = check.algorithm === 'md5' ? digests.md5 : digests.sha256;
    if (!actual) throw new Error(`the ${check.algorithm} of the body was not computed`);
    if (!actual.equals(check.expected)) {
      throw validationError(
        check.header,
        `the body's ${check.algorithm === 'md5' ? 'MD5' : 'sha-256'} is ${actual.toString('base64')}, not the ${check.expected.toString('base64')} that ${check.header} gave: nothing was stored`,
      );
    }
  }
}

/**
 * The bytes passed through to a store that sends them on as they come (S3): counted, hashed, and
 * the last chunk held back until the length and the digests are checked, so the store never
 * receives a whole body that is wrong — a mismatch fails the stream instead, and S3 keeps nothing.
 */
export class VerifiedBody extends Transform {
  private readonly hasher: BodyHasher;
  private held: Buffer | null = null;
  private result: BodyDigests | null = null;

  constructor(private readonly expect: { length?: number; digests?: DigestCheck[] }) {
    super();
    this.hasher = new BodyHasher({ md5: needsMd5(expect.digests) });
  }

  /** bytes passed so far */
  get bytes(): number {
    return this.hasher.size;
  }

  /** The digests, once the body has passed whole and checked. */
  get digests(): BodyDigests {
    if (!this.result) throw new Error('the body has not been read to its end');
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hasher.update(chunk);
    const { length } = this.expect;
    if (length !== undefined && this.hasher.size > length) {
      return callback(new AppError('validation_failed', `the body is longer than the ${length} bytes announced`, { field: 'content-length' }));
    }
    const previous = this.held;
    this.held = chunk;
    callback(null, previous ?? undefined);
  }

  override _flush(callback: TransformCallback): void {
    const { length, digests } = this.expect;
    if (length !== undefined && this.hasher.size !== length) {
      return callback(new AppError('validation_failed', `the body had ${this.hasher.size} bytes, not the ${length} announced`, { field: 'content-length' }));
    }
    const result = this.hasher.digest();
    try {
      checkDigests(digests, result);
    } catch (error) {
      return callback(error as Error);
    }
    this.result = result;
    callback(null, this.held ?? undefined);
  }
}

/** The digests of bytes already in memory, checked; a large body is hashed off the event loop's thread (digest-thread.ts). */
export async function digestsOfBuffer(bytes: Buffer, checks: DigestCheck[] | undefined, options: { md5: boolean }): Promise<BodyDigests> {
  const md5 = options.md5 || needsMd5(checks);
  let digests: BodyDigests;
  if (bytes.length >= THREAD_MIN_BYTES) {
    digests = await digestOnThread(bytes, md5);
  } else {
    const hasher = new BodyHasher({ md5 });
    hasher.update(bytes);
    digests = hasher.digest();
  }
  checkDigests(checks, digests);
  return digests;
}
