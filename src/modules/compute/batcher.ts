// Coalesces the calls made in one tick into one batch, as the SQL queue does with job outcomes:
// under a burst one statement (or one Redis round trip) serves many requests, and alone a call
// waits one setImmediate, a few microseconds. Both sides are bounded so that no loop turn holds
// the event loop long (with the synchronous SQLite driver a batch runs start to end in one turn):
// a batch takes at most `maxBatch` calls, the rest wait for the next turn; and the callers go on
// a slice per turn (PacedRelease) rather than all at once.
import { PacedRelease } from './paced-release.js';

export class Batcher<In, Out = void> {
  private readonly queued: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;
  private readonly resumption = new PacedRelease();

  /** `run` answers with one output per input, in order. */
  constructor(
    private readonly run: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 64,
  ) {}

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
    const batch = this.queued.splice(0, this.maxBatch);
    // Scheduled from the check phase, the next flush comes after the next poll phase.
    if (this.queued.length) setImmediate(() => this.flush());
    else this.scheduled = false;
    Promise.resolve()
      .then(() => this.run(batch.map((entry) => entry.item)))
      .then(
        (outputs) => batch.forEach((entry, i) => this.resumption.turn().then(() => entry.resolve(outputs[i]))),
        (error) => batch.forEach((entry) => this.resumption.turn().then(() => entry.reject(error))),
      );
  }
}
