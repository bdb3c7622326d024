// The digests of a large body already in memory are computed on a thread of their own. MD5 and
// sha-256 of an 8 MiB harvest pack take ~25 ms; on the event loop's thread every other request
// waited that long (bench:harvest profile: 31 ms of a 500-image page's main thread went to its
// packs' digests). Small bodies are hashed in place: a message each way costs more than they do.
import { Worker } from 'node:worker_threads';
import { ThreadCalls } from '../thread-calls.js';

/** Bodies from this size on are hashed on the thread (64 KiB: ~0.2 ms of hashing, against ~0.05 ms for the messages). */
export const THREAD_MIN_BYTES = 64 * 1024;

// Plain JavaScript evaluated by the thread: the same from sources (tests, tsx) and from the build.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, bytes, md5 }) => {
  try {
    const sha256 = createHash('sha256').update(bytes).digest();
    parentPort.postMessage({ id, sha256, md5: md5 ? createHash('md5').update(bytes).digest() : undefined });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});`;

interface Answer {
  id: number;
  sha256?: Uint8Array;
  md5?: Uint8Array;
  error?: string;
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** One thread per process, started with the first large body; it holds the process open only while it has work. */
class DigestThread {
  // CommonJS whatever flags the process runs with (--input-type=module would make the source a module)
  private readonly calls = new ThreadCalls<Answer>('the digest thread', () => new Worker(THREAD_SOURCE, { eval: true, execArgv: [] }));

  async digest(bytes: Buffer, md5: boolean): Promise<{ sha256: Buffer; md5?: Buffer }> {
    // A message carries a view's whole ArrayBuffer: a view into a larger one (Node's pool) sends its own bytes only.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const answer = await this.calls.call({ bytes: whole ? bytes : new Uint8Array(bytes), md5 });
    if (answer.error !== undefined || !answer.sha256) throw new Error(`the digest thread failed: ${answer.error}`);
    return { sha256: asBuffer(answer.sha256), ...(answer.md5 ? { md5: asBuffer(answer.md5) } : {}) };
  }
}

const thread = new DigestThread();

/** MD5 (when asked) and sha-256 of bytes in memory, computed on the digest thread. */
export function digestOnThread(bytes: Buffer, md5: boolean): Promise<{ sha256: Buffer; md5?: Buffer }> {
  return thread.digest(bytes, md5);
}
