// Coalesces the calls made in one tick into one batch, as the SQL queue does with job outcomes:
// under a burst one statement (or one Redis round trip) serves many requests, and alone a call
// waits one setImmediate, a few microseconds. The callers then go on a slice per loop turn
// (PacedRelease): resumed all at once, 2,000 of them would run their next steps back to back,
// in one microtask chain with the synchronous SQLite driver, and hold the event loop meanwhile.
import { PacedRelease } from './paced-release.js';

export class Batcher<In, Out = void> {
  private queued: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;
  private readonly resumption = new PacedRelease();

  /** `run` answers with one output per input, in order. */
  constructor(private readonly run: (items: In[]) => Promise<Out[]>) {}

  /** Resolves with this item's output once its batch ran; rejects with the batch's error. */
  add(item: In): Promise<Out> {
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
      .then(() => this.run(batch.map((entry) => entry.item)))
      .then(
        (outputs) => batch.forEach((entry, i) => this.resumption.turn().then(() => entry.resolve(outputs[i]))),
        (error) => batch.forEach((entry) => this.resumption.turn().then(() => entry.reject(error))),
      );
  }
}
