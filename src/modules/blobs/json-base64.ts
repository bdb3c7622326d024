// The compatible GET answers {"key", "extension", "data": "<base64>"}: the object's bytes are
// encoded as they stream from the store, so even a large object never sits whole in memory.
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
