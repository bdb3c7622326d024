// Idempotency-Keys are kept WORKYARD_FEEDBACK_IDEMPOTENCY_KEY_RETENTION_MS (a day: long enough for
// any client's retries), then deleted by worker processes. Like compute's task pruning, a pass
// deletes in small batches with a pause between, so that on SQLite (one writer at a time) the
// posts that record keys never wait behind a long DELETE.
import type { IdempotencyStore } from './idempotency-store.js';

export interface KeyPruningOptions {
  retentionMs: number;
  /** time between passes (default: an hour, or a tenth of a shorter retention) */
  everyMs?: number;
  /** keys per DELETE (default 500) */
  batchSize?: number;
  /** pause between two batches of one pass (default 20 ms) */
  pauseMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export class IdempotencyKeyPruner {
  private timer?: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private stopped = false;
  private readonly batchSize: number;
  private readonly pauseMs: number;

  constructor(
    private readonly keys: IdempotencyStore,
    private readonly options: KeyPruningOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pauseMs = options.pauseMs ?? 20;
  }

  /** Passes run from now on, every `everyMs`; the timer does not keep the process alive. */
  start(): void {
    if (this.timer || this.stopped) return;
    const everyMs = this.options.everyMs ?? Math.max(1_000, Math.min(3_600_000, Math.floor(this.options.retentionMs / 10)));
    this.timer = setInterval(() => {
      this.pruneOnce().catch((error) => this.options.log?.warn({ err: error }, 'pruning feedback idempotency keys failed'));
    }, everyMs);
    this.timer.unref();
  }

  /** Deletes every key older than the retention, batch by batch; resolves with how many. */
  pruneOnce(now = Date.now()): Promise<number> {
    // Passes do not overlap: a pass slower than the interval is not joined by a second one.
    this.running ??= this.prune(now - this.options.retentionMs).finally(() => (this.running = null));
    return this.running;
  }

  private async prune(cutoff: number): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const deleted = await this.keys.pruneCreatedBefore(cutoff, this.batchSize);
      total += deleted;
      if (deleted < this.batchSize) break;
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
    return total;
  }

  /** Stops the timer and ends a pass in progress after its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running?.catch(() => {});
  }
}
