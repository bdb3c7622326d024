// Base64 inside JSON, both ways. The compatible GET answers {"key", "extension", "data": "<base64>"}:
// the object's bytes are encoded as they stream from the store, so even a large object never sits
// whole in memory. The compatible PUT decodes what common encoders produce.
import { Readable, Transform } from 'node:stream';

/** Base64 of a byte stream: each chunk is encoded up to a multiple of 3 bytes, the rest carried over. */
export function base64Encoder(): Transform {
  let carry = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = bytes.length - (bytes.length % 3);
      carry = Buffer.from(bytes.subarray(whole));
      callback(null, whole ? bytes.subarray(0, whole).toString('base64') : undefined);
    },
    flush(callback) {
      callback(null, carry.length ? carry.toString('base64') : undefined);
    },
  });
}

export const base64Length = (size: number) => 4 * Math.ceil(size / 3);

/** The JSON document around the streamed data, and its exact length in bytes. */
export function jsonWithBase64Data(fields: Record<string, string>, size: number, bytes: Readable): { body: Readable; length: number } {
  const head = Buffer.from(JSON.stringify(fields).slice(0, -1) + (Object.keys(fields).length ? ',' : '') + '"data":"');
  const tail = Buffer.from('"}');
  const encoder = base64Encoder();
  bytes.on('error', (error) => encoder.destroy(error));
  const encoded = bytes.pipe(encoder);
  const body = Readable.from(
    (async function* () {
      yield head;
      for await (const chunk of encoded) yield Buffer.from(chunk);
      yield tail;
    })(),
  );
  body.on('close', () => {
    if (!bytes.destroyed) bytes.destroy();
  });
  return { body, length: head.length + base64Length(size) + tail.length };
}

// What "bytes in base64, serialised to a string" arrives as from common encoders: Python's
// base64.encodebytes and the base64 tool break lines (\n every 76 characters), MIME with \r\n;
// some leave the padding off; Python's urlsafe_b64encode and JWT tools use the url-safe alphabet.
// The rules are the WHATWG "forgiving-base64 decode" (what browsers' atob accepts): ASCII
// whitespace is skipped, padding is optional but a partial group of one character is not — with
// the url-safe alphabet accepted beside the standard one (one alphabet per string).
const ASCII_WHITESPACE = /[\t\n\f\r ]/g;
// (Flat character classes: a grouped repetition overflows the regex stack on megabytes.)
const STANDARD_ALPHABET = /^[A-Za-z0-9+/]*$/;
const URL_SAFE_ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The bytes base64 text stands for, or null when it is not base64. (Buffer.from alone skips what it does not understand.) */
export function decodeBase64Text(text: string): Buffer | null {
  let compact = text.replace(ASCII_WHITESPACE, '');
  if (compact.length % 4 === 0) {
    if (compact.endsWith('==')) compact = compact.slice(0, -2);
    else if (compact.endsWith('=')) compact = compact.slice(0, -1);
  }
  if (compact.length % 4 === 1) return null;
  if (!STANDARD_ALPHABET.test(compact) && !URL_SAFE_ALPHABET.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}
