// Coalesces the writes asked for in one tick into one call, as the SQL queue does with job
// outcomes: under load one statement serves many requests, and alone a write waits one
// setImmediate, a few microseconds. The callers then go on a slice per loop turn (PacedRelease):
// with the synchronous SQLite driver, 2,000 callers resumed at once would run their next queries
// back to back in one microtask chain and hold the event loop for all of them.
import { PacedRelease } from './paced-release.js';

export class WriteBatcher<T> {
  private queued: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;
  private readonly resumption = new PacedRelease();

  constructor(private readonly write: (items: T[]) => Promise<void>) {}

  /** Resolves once the batch holding this item is written; rejects with the batch's error. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = [];
    Promise.resolve()
      .then(() => this.write(batch.map((entry) => entry.item)))
      .then(
        () => batch.forEach((entry) => this.resumption.turn().then(entry.resolve)),
        (error) => batch.forEach((entry) => this.resumption.turn().then(() => entry.reject(error))),
      );
  }
}
