// Increments are gathered in memory and written in batches: one write per few milliseconds
// instead of one per request. Both drivers use this buffer; only their `write` differs.
import { errorMessage } from '../queue/contract.js';
import { boundedKey } from './bounded-key.js';

export interface WriteBehindOptions {
  /** how long an increment may wait before its batch is written */
  flushDelayMs: number;
  /**
   * Writes a batch. It removes from `batch` what it wrote, so that on failure only the rest is
   * kept for the next try (a partly written batch is never counted twice).
   */
  write(batch: Map<string, number>): Promise<void>;
  /** a batch with this many distinct keys is written at once, without waiting for the delay */
  flushAtKeys?: number;
  /**
   * While the store is down, increments of keys not yet buffered are dropped past this many
   * distinct keys, so that an outage cannot exhaust memory (known keys keep counting).
   */
  maxPendingKeys?: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** false: keys come already bounded (composite bucket keys bound their path part themselves) */
  boundKeys?: boolean;
}

/** What a counters driver lets its caller tune of its buffer; each driver has its own defaults. */
export interface CountersBufferOptions {
  /** how long increments are gathered before they are written */
  flushDelayMs?: number;
  /** distinct keys per write (one statement and transaction, or one MULTI) */
  chunkKeys?: number;
  /** keys a ranked window's build sums or writes per statement (tests make it small to build in many slices) */
  windowSlice?: number;
  log?: WriteBehindOptions['log'];
}

/**
 * Writes `batch` at most `chunkKeys` keys at a time, removing each chunk once written, so that a
 * failure keeps only the rest for the next try. Requests get through between chunks: a large
 * batch must not hold the event loop.
 */
export async function writeInChunks(batch: Map<string, number>, chunkKeys: number, writeChunk: (chunk: [string, number][]) => Promise<void>): Promise<void> {
  while (batch.size > 0) {
    const chunk: [string, number][] = [];
    for (const entry of batch) {
      chunk.push(entry);
      if (chunk.length === chunkKeys) break;
    }
    await writeChunk(chunk);
    for (const [key] of chunk) batch.delete(key);
    if (batch.size > 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

export class WriteBehindBuffer {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** writes and resets run one after another, so a reset never races a batch in flight */
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  private dropped = 0;
  private closed = false;
  private readonly flushAtKeys: number;
  private readonly maxPendingKeys: number;

  constructor(private readonly options: WriteBehindOptions) {
    this.flushAtKeys = options.flushAtKeys ?? 10_000;
    this.maxPendingKeys = options.maxPendingKeys ?? 1_000_000;
  }

  add(rawKey: string): void {
    const key = this.options.boundKeys === false ? rawKey : boundedKey(rawKey);
    const count = this.pending.get(key);
    if (count !== undefined) this.pending.set(key, count + 1);
    else if (this.pending.size < this.maxPendingKeys) this.pending.set(key, 1);
    else {
      this.dropped++;
      return;
    }
    if (this.closed) return;
    if (this.pending.size >= this.flushAtKeys && this.failures === 0) this.schedule(0);
    else if (!this.timer) this.schedule(this.options.flushDelayMs);
  }

  /** Writes what is buffered now; rejects (keeping the increments for a retry) when the store fails. */
  flush(): Promise<void> {
    return this.exclusive(() => this.writePending());
  }

  /** Runs `task` once the writes in flight are done, and before any later one. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Forgets what is buffered (for a reset: run it inside `exclusive`). */
  clear(): void {
    this.pending.clear();
  }

  get pendingKeys(): number {
    return this.pending.size;
  }

  /** Final flush: a few quick tries, then what could not be written is reported as lost. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.flush();
        break;
      } catch (error) {
        if (attempt === 2) {
          const lost = [...this.pending.values()].reduce((sum, n) => sum + n, 0);
          this.options.log?.error({ err: error, lost, keys: this.pending.size }, 'counters: increments could not be written on shutdown');
        } else await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => {});
    }, delayMs);
    // Pending increments must not keep a finished process alive; close() writes them.
    this.timer.unref();
  }

  private async writePending(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.options.write(batch);
      this.failures = 0;
      if (this.dropped) {
        this.options.log?.warn({ dropped: this.dropped }, 'counters: increments of new keys were dropped while the store was down');
        this.dropped = 0;
      }
    } catch (error) {
      this.restore(batch);
      this.failures++;
      if (this.failures === 1 || this.failures % 50 === 0) {
        this.options.log?.warn({ err: errorMessage(error), failures: this.failures, keys: this.pending.size }, 'counters: writing increments failed; will retry');
      }
      if (!this.closed) this.schedule(Math.min(1_000, this.options.flushDelayMs * 2 ** this.failures));
      throw error;
    }
    // Increments that arrived during the write wait for their own delay (already scheduled by add).
  }

  /** Puts an unwritten batch back, merged with what arrived meanwhile. */
  private restore(batch: Map<string, number>): void {
    if (batch.size === 0) return;
    for (const [key, count] of this.pending) batch.set(key, (batch.get(key) ?? 0) + count);
    this.pending = batch;
  }
}
