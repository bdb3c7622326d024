// The HTTP rules of reads: byte ranges (RFC 9110 §14) and entity tags (§13.1.2).

/** A Range header the server honours: one span of bytes, as written by the client. */
export type RangeSpec = { kind: 'from'; start: number; end?: number } | { kind: 'suffix'; length: number };

/**
 * Parses `Range: bytes=…`. Anything else — another unit, several spans, bad syntax — is ignored,
 * as RFC 9110 allows: the client then gets the whole object with a 200.
 */
export function parseRange(header: string | undefined): RangeSpec | null {
  if (!header) return null;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [start, end] = [match[1], match[2]].map((digits) => (digits === '' ? undefined : Number(digits)));
  if ((start !== undefined && !Number.isSafeInteger(start)) || (end !== undefined && !Number.isSafeInteger(end))) return null;
  if (start === undefined) return { kind: 'suffix', length: end! };
  if (end !== undefined && end < start) return null;
  return { kind: 'from', start, end };
}

/** The inclusive span a range selects in an object of `size` bytes, or null when it cannot be served (416). */
export function resolveRange(spec: RangeSpec, size: number): { start: number; end: number } | null {
  if (spec.kind === 'suffix') {
    if (spec.length === 0 || size === 0) return null;
    return { start: Math.max(0, size - spec.length), end: size - 1 };
  }
  if (spec.start >= size) return null;
  return { start: spec.start, end: Math.min(spec.end ?? size - 1, size - 1) };
}

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/** If-None-Match uses the weak comparison: W/"x" matches "x"; `*` matches any existing object. */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const wanted = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === wanted);
}

/** If-Range with an entity tag uses the strong comparison; a date (or a weak tag) never matches ours. */
export function ifRangeHolds(header: string | undefined, etag: string): boolean {
  if (!header) return true;
  const tag = header.trim();
  return !tag.startsWith('W/') && tag === etag;
}
