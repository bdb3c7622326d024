// Where the disk store keeps a key, and how an object file is laid out.
//
// Paths: a key is never used as a path. Its UTF-8 bytes are written in lowercase hex and cut into
// chunks of 128 hex digits: every chunk but the last is a directory, the last is the file
// `<chunk>.blob`. Hex names hold only [0-9a-f], so no key can name "..", "/", a dot file or
// anything outside the store, whatever it contains. Hex also keeps byte order (two digits per
// byte, digits in ASCII order), so walking the tree in name order lists keys in lexical order
// without an index. A 1,024-byte key is 16 levels deep and each name stays far below 255 bytes.
//
// Files: `<bytes><metadata JSON><JSON length: uint32 BE><magic>`. Metadata travels in the same
// file as the bytes, so the one rename that publishes an object publishes both: no reader can see
// new bytes with old metadata, and a crash leaves either the old object or the new one.
import path from 'node:path';

export const CHUNK_HEX = 128;
export const FILE_SUFFIX = '.blob';
export const TRAILER_MAGIC = Buffer.from('WYBLOB01', 'ascii');
/** the JSON length field and the magic that close every file */
export const TRAILER_FIXED_BYTES = 4 + TRAILER_MAGIC.length;

export interface StoredMeta {
  key: string;
  contentType: string;
  /** quoted */
  etag: string;
  /** epoch milliseconds */
  lastModified: number;
  metadata?: Record<string, string>;
}

export const keyToHex = (key: string) => Buffer.from(key, 'utf8').toString('hex');
export const hexToKey = (hex: string) => Buffer.from(hex, 'hex').toString('utf8');

/** The chunks of a key's hex: directories first, the file's chunk last. */
export function hexChunks(hex: string): string[] {
  const chunks: string[] = [];
  for (let at = 0; at < hex.length; at += CHUNK_HEX) chunks.push(hex.slice(at, at + CHUNK_HEX));
  return chunks;
}

export function objectPath(objectsDir: string, key: string): string {
  const chunks = hexChunks(keyToHex(key));
  const file = chunks.pop()! + FILE_SUFFIX;
  return path.join(objectsDir, ...chunks, file);
}

export function encodeTrailer(meta: StoredMeta): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([json, length, TRAILER_MAGIC]);
}

/** An entry of an objects directory, as the tree walk sees it. */
export interface TreeEntry {
  /** the hex chunk this entry stands for */
  chunk: string;
  kind: 'file' | 'dir';
}

const HEX_NAME = /^(?:[0-9a-f]{2})+$/;

/** Directory entries in key order; anything that is not ours (temp files, stray names) is skipped. */
export function sortTreeEntries(names: { name: string; isDirectory: boolean }[]): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const { name, isDirectory } of names) {
    if (isDirectory && name.length === CHUNK_HEX && HEX_NAME.test(name)) entries.push({ chunk: name, kind: 'dir' });
    else if (!isDirectory && name.endsWith(FILE_SUFFIX)) {
      const chunk = name.slice(0, -FILE_SUFFIX.length);
      if (chunk.length <= CHUNK_HEX && HEX_NAME.test(chunk)) entries.push({ chunk, kind: 'file' });
    }
  }
  // A file and a directory may share a chunk (key K, and keys that continue K): K comes first.
  return entries.sort((a, b) => (a.chunk < b.chunk ? -1 : a.chunk > b.chunk ? 1 : a.kind === 'file' ? -1 : 1));
}
