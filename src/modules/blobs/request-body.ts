// The raw body of a native PUT, passed through without buffering: its bytes are counted as they
// stream, so a chunked body (no Content-Length) is stopped with a 413 as soon as it is too large,
// and a client that disconnects midway makes the put fail as a client error, not a store error.
import type { IncomingMessage } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { AppError } from '../../errors.js';

export const tooLarge = (maxBytes: number) =>
  new AppError('payload_too_large', `the body is larger than the ${maxBytes} bytes this server accepts (WORKYARD_BLOBS_MAX_BYTES)`, { field: 'body', max_bytes: maxBytes });

export function countedBody(raw: IncomingMessage | undefined, maxBytes: number): Readable {
  if (!raw) return Readable.from([]);
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) return callback(tooLarge(maxBytes));
      callback(null, chunk);
    },
  });
  const cutShort = () => {
    if (!counter.destroyed) counter.destroy(new AppError('validation_failed', 'the request body ended before it was complete (the client disconnected)', { field: 'body' }));
  };
  raw.once('aborted', cutShort);
  raw.once('error', cutShort);
  // 'close' without 'end' is a body that stopped midway.
  raw.once('close', () => {
    if (!raw.complete) cutShort();
  });
  raw.pipe(counter);
  // Past an error nobody reads the body any more: let it drain, so the answer can still go out.
  counter.once('error', () => {
    raw.unpipe(counter);
    raw.resume();
  });
  return counter;
}
