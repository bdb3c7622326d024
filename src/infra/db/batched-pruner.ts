// Deletes old rows a batch at a time, on a timer, for the records that modules keep for a
// retention (compute's finished tasks, feedback's Idempotency-Keys). Small batches with a pause
// between them: on SQLite (one writer at a time) live writes never wait behind a long DELETE.

export interface PruningOptions {
  retentionMs: number;
  /** time between passes (default: an hour, or a tenth of a shorter retention) */
  everyMs?: number;
  /** rows per DELETE (default 500) */
  batchSize?: number;
  /** pause between two batches of one pass (default 20 ms) */
  pauseMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

/** Deletes at most `limit` rows older than `cutoff` (ms since the epoch); resolves with how many. */
export type DeleteBatch = (cutoff: number, limit: number) => Promise<number>;

export class BatchedPruner {
  private timer?: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private stopped = false;
  private readonly batchSize: number;
  private readonly pauseMs: number;

  constructor(
    private readonly deleteBatch: DeleteBatch,
    /** what a failed pass logs */
    private readonly failureMessage: string,
    private readonly options: PruningOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pauseMs = options.pauseMs ?? 20;
  }

  /** Passes run from now on, every `everyMs`; the timer does not keep the process alive. */
  start(): void {
    if (this.timer || this.stopped) return;
    const everyMs = this.options.everyMs ?? Math.max(1_000, Math.min(3_600_000, Math.floor(this.options.retentionMs / 10)));
    this.timer = setInterval(() => {
      this.pruneOnce().catch((error) => this.options.log?.warn({ err: error }, this.failureMessage));
    }, everyMs);
    this.timer.unref();
  }

  /** Deletes every row older than the retention, batch by batch; resolves with how many. */
  pruneOnce(now = Date.now()): Promise<number> {
    // Passes do not overlap: a pass slower than the interval is not joined by a second one.
    this.running ??= this.prune(now - this.options.retentionMs).finally(() => (this.running = null));
    return this.running;
  }

  private async prune(cutoff: number): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const deleted = await this.deleteBatch(cutoff, this.batchSize);
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
