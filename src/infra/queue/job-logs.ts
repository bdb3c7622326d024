// What both queue drivers do with a line a handler logs (ctx.log) before storing it: one shape,
// one cut for a line longer than the whole bound. Storing and bounding the lines is each driver's
// own (sql-queue-logs.ts, bullmq-logs.ts); boundLogLines in contract.ts says what is kept.
import { type JobLogLine, MAX_LOG_BYTES } from './contract.js';

const ELLIPSIS = '…';

/**
 * The line as it is kept. A message longer than the whole bound is cut to it (at a character
 * boundary, ending in '…'): kept whole it would be dropped at once, and the newest line must show.
 */
export function logLineOf(message: unknown, at = Date.now()): JobLogLine {
  const text = typeof message === 'string' ? message : String(message);
  // Every UTF-16 unit is at most 3 bytes of UTF-8: most lines need no byte count at all.
  if (text.length * 3 <= MAX_LOG_BYTES || Buffer.byteLength(text) <= MAX_LOG_BYTES) return { at, message: text };
  const bytes = Buffer.from(text);
  let end = MAX_LOG_BYTES - Buffer.byteLength(ELLIPSIS);
  // Step back over the continuation bytes (10xxxxxx) of a character the cut would split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return { at, message: bytes.subarray(0, end).toString() + ELLIPSIS };
}
