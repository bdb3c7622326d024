// Behaviour both stores share, so the conformance suite holds them to the same answers.
import { AppError, validationError } from '../../errors.js';
import type { ByteRange } from './contract.js';
import { assertValidPrefix } from './keys.js';

export const MAX_LIST_LIMIT = 1000;

/** A body that did not have the length its sender announced is refused, not stored truncated. */
export function checkContentLength(announced: number | undefined, actual: number): void {
  if (announced !== undefined && announced !== actual) {
    throw validationError('content-length', `the body had ${actual} bytes, not the ${announced} announced`);
  }
}

export function listLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw validationError('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  return limit;
}

/** A list call's arguments, checked alike: prefix and cursor must be valid key prefixes, the limit in range. */
export function listArguments(options: { prefix?: string; limit: number; cursor?: string }): { prefix: string; limit: number } {
  const prefix = options.prefix ?? '';
  assertValidPrefix(prefix);
  if (options.cursor !== undefined) assertValidPrefix(options.cursor, 'cursor');
  return { prefix, limit: listLimit(options.limit) };
}

/**
 * The inclusive byte span a read returns: the whole object without a range, else the range with
 * its end clipped to the object (as HTTP does). A range starting past the end cannot be served.
 */
export function rangeOf(size: number, range: ByteRange | undefined): ByteRange {
  if (!range) return { start: 0, end: size - 1 };
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    throw validationError('range', `invalid byte range ${range.start}-${range.end}`);
  }
  if (range.start >= size) {
    throw new AppError('range_not_satisfiable', `the range starts at byte ${range.start} but the object has ${size} bytes`, { field: 'range', size });
  }
  return { start: range.start, end: Math.min(range.end, size - 1) };
}

const METADATA_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;
const METADATA_MAX_BYTES = 2048;

/** Metadata both stores can keep: S3 sends it as HTTP headers, which limits names, values and size. */
export function checkMetadata(metadata: Record<string, string> | undefined): void {
  if (!metadata) return;
  let total = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name)) throw validationError('metadata', `metadata name ${JSON.stringify(name)} must be lowercase letters, digits and "-"`);
    if (typeof value !== 'string' || !METADATA_VALUE.test(value)) throw validationError('metadata', `metadata ${name} must be printable ASCII`);
    total += name.length + value.length;
  }
  if (total > METADATA_MAX_BYTES) throw validationError('metadata', `metadata must be at most ${METADATA_MAX_BYTES} bytes`);
}
