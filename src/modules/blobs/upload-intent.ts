// What a resumable upload is for: the blob it lands as (key, content type), the digest its bytes
// must have, and the conditions of the write. Read from the creation request (tus Upload-Metadata,
// If-Match / If-None-Match), checked there, and kept in the upload's metadata so that whichever
// API node receives the last PATCH lands it the same way.
import { validationError } from '../../errors.js';
import { keyProblem } from '../../infra/blobstore/keys.js';

export interface UploadIntent {
  key: string;
  contentType: string;
  /** lowercase hex sha-256 the landed bytes must have */
  sha256?: string;
  ifMatch?: string;
  ifNoneMatch?: '*';
}

/** Metadata names Workyard sets itself from the creation request's headers (a client's own are dropped). */
const IF_MATCH = 'if-match';
const IF_NONE_MATCH = 'if-none-match';

// A media type as a header carries it: printable ASCII, bounded (as PUT /blobs/{key}).
const CONTENT_TYPE = /^[\x20-\x7e]{1,255}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
// One strong entity tag, as the store gives them.
const ENTITY_TAG = /^"[\x21\x23-\x7e]*"$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * tus Upload-Metadata: `name base64,name base64`, values optional. Decoded here rather than by the
 * tus server's parser so that a key that is not UTF-8 is refused instead of turned into U+FFFD.
 */
export function parseUploadMetadata(header: string | undefined): Record<string, string | null> {
  const field = 'upload-metadata';
  if (header === undefined || header.trim() === '') throw validationError(field, 'Upload-Metadata is required: it must carry the blob\'s key as `key <base64 of the key>`');
  const metadata: Record<string, string | null> = {};
  for (const pair of header.split(',')) {
    const [name, value, ...rest] = pair.trim().split(' ');
    if (!name || rest.length || !/^[\x21-\x2b\x2d-\x7e]+$/.test(name) || (value !== undefined && (value.length % 4 !== 0 || !BASE64.test(value)))) {
      throw validationError(field, 'Upload-Metadata must be comma-separated `name base64` pairs (tus 1.0)');
    }
    if (Object.hasOwn(metadata, name)) throw validationError(field, `Upload-Metadata names ${name} twice`);
    if (value === undefined) {
      metadata[name] = null;
      continue;
    }
    try {
      metadata[name] = utf8.decode(Buffer.from(value, 'base64'));
    } catch {
      throw validationError(`${field}.${name}`, `Upload-Metadata ${name} must be base64 of UTF-8 text`);
    }
  }
  return metadata;
}

/** The intent of an upload from its metadata; throws a 400 naming the metadata field that is wrong. */
export function intentOf(metadata: Record<string, string | null> | undefined): UploadIntent {
  const key = metadata?.key;
  if (key === undefined || key === null) throw validationError('upload-metadata.key', 'Upload-Metadata must carry the blob\'s key: `key <base64 of the key>`');
  const problem = keyProblem(key);
  if (problem) throw validationError('upload-metadata.key', `key ${problem}`);
  // tus clients (tus-js-client, Uppy) send the file's type as `filetype`; ours is `content-type`.
  const given = metadata?.['content-type'];
  if (given !== undefined && (given === null || !CONTENT_TYPE.test(given))) {
    throw validationError('upload-metadata.content-type', 'content-type must be 1 to 255 printable ASCII characters');
  }
  const filetype = metadata?.filetype;
  const contentType = given ?? (filetype && CONTENT_TYPE.test(filetype) ? filetype : 'application/octet-stream');
  const sha256 = metadata?.sha256;
  if (sha256 !== undefined && (sha256 === null || !SHA256_HEX.test(sha256))) {
    throw validationError('upload-metadata.sha256', 'sha256 must be the sha-256 of the whole upload as 64 hex digits');
  }
  const ifMatch = metadata?.[IF_MATCH] ?? undefined;
  const ifNoneMatch = metadata?.[IF_NONE_MATCH] === '*' ? '*' : undefined;
  return { key, contentType, sha256: sha256?.toLowerCase(), ifMatch, ifNoneMatch };
}

/**
 * The metadata an upload is created with: the client's, with the conditions of the creation
 * request's If-Match / If-None-Match headers (400 naming the header when malformed).
 */
export function metadataWithConditions(metadata: Record<string, string | null>, headers: { ifMatch?: string | null; ifNoneMatch?: string | null }): Record<string, string | null> {
  const result = { ...metadata };
  delete result[IF_MATCH];
  delete result[IF_NONE_MATCH];
  const { ifMatch, ifNoneMatch } = headers;
  if (ifMatch && ifNoneMatch) throw validationError('if-none-match', 'send If-Match or If-None-Match, not both');
  if (ifNoneMatch) {
    if (ifNoneMatch.trim() !== '*') throw validationError('if-none-match', 'If-None-Match on an upload must be * (create only)');
    result[IF_NONE_MATCH] = '*';
  }
  if (ifMatch) {
    if (!ENTITY_TAG.test(ifMatch.trim())) throw validationError('if-match', 'If-Match on an upload must be one entity tag, e.g. "5d41402abc4b2a76b9719d911017c592"');
    result[IF_MATCH] = ifMatch.trim();
  }
  return result;
}
