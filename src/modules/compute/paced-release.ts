// Thousands of sync sums can finish in the same tick (delays that started together end together).
// Answering them all in one go would hold the event loop for the whole burst, and a health check
// arriving meanwhile would wait for all of it. Waiters are released a slice per loop turn instead,
// so the I/O of other requests is served between the slices. Alone, a waiter costs one setImmediate.
export class PacedRelease {
  private waiting: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly perTurn = 16) {}

  /** Resolves on a coming loop turn, at most `perTurn` waiters per turn, in arrival order. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.release());
    });
  }

  private release(): void {
    const slice = this.waiting.splice(0, this.perTurn);
    // Immediates queued while the check phase runs wait for the next turn, after the poll phase.
    if (this.waiting.length) setImmediate(() => this.release());
    else this.scheduled = false;
    for (const resolve of slice) resolve();
  }
}
