// Calls made in the same event-loop turn run as one batch: under a burst one statement (or one
// Redis round trip) serves many callers, and alone a call waits one setImmediate, a few
// microseconds. Each caller's promise settles only after the run holding its item has finished,
// so a request is never answered before its own row is written.
//
// The options bound what one loop turn does and what runs at once. With the synchronous SQLite
// driver a run goes start to end in one turn, so no turn may hold the event loop long; and a
// dependency deadline is per run, so runs queued behind each other would miss theirs.

export interface TickBatchOptions {
  /** the most items one run takes */
  maxBatch: number;
  /** runs at once (default unbounded); 1: one after the other, each with the whole deadline to itself */
  maxInFlight?: number;
  /** runs started in one turn (default unbounded); the rest wait for the next turn, after its I/O */
  runsPerTurn?: number;
  /**
   * callers settled per turn (default all at once): thousands answered in one go would hold the
   * event loop, and a health check arriving meanwhile would wait for all of it
   */
  settlePerTurn?: number;
}

interface Call<In, Out> {
  item: In;
  resolve(out: Out): void;
  reject(error: unknown): void;
}

export class TickBatch<In, Out = void> {
  private readonly queued: Call<In, Out>[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly settler?: TickBatch<() => void>;

  /** `run` answers with one output per input, in order; if it throws, every call of the run fails with that error. */
  constructor(
    private readonly run: (items: In[]) => Promise<Out[]>,
    private readonly options: TickBatchOptions,
  ) {
    const perTurn = options.settlePerTurn;
    if (perTurn) this.settler = new TickBatch(async (settles) => settles.map((settle) => settle()), { maxBatch: perTurn, runsPerTurn: 1 });
  }

  /** Resolves with this item's output once its run has finished; rejects with the run's error. */
  add(item: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= (this.options.maxInFlight ?? Infinity)) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: every call that arrived together joins the batch.
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    const { maxBatch, maxInFlight = Infinity, runsPerTurn = Infinity } = this.options;
    for (let runs = 0; this.queued.length && this.inFlight < maxInFlight && runs < runsPerTurn; runs++) {
      this.start(this.queued.splice(0, maxBatch));
    }
    // Scheduled from the check phase, the next turn comes after the next poll phase.
    if (this.queued.length) this.schedule();
  }

  private start(batch: Call<In, Out>[]): void {
    this.inFlight++;
    Promise.resolve()
      .then(() => this.run(batch.map((call) => call.item)))
      .then((outputs) => {
        if (outputs.length !== batch.length) throw new Error(`tick batch: ${outputs.length} results for ${batch.length} items`);
        batch.forEach((call, i) => this.settle(() => call.resolve(outputs[i])));
      })
      .catch((error: unknown) => batch.forEach((call) => this.settle(() => call.reject(error))))
      .finally(() => {
        this.inFlight--;
        if (this.queued.length) this.schedule();
      });
  }

  private settle(settle: () => void): void {
    if (this.settler) void this.settler.add(settle);
    else settle();
  }
}

/**
 * Reads by id: each run fetches the distinct ids of its calls (an id missing from the map answers
 * undefined), one run after the other, so ten thousand waiters at once cost twenty reads of 500
 * ids rather than ten thousand reads queued behind one connection, the last ones past the deadline.
 */
export function batchedLookup<V>(fetchMany: (ids: string[]) => Promise<Map<string, V>>, maxBatch = 500) {
  const batch = new TickBatch<string, V | undefined>(async (ids) => {
    const found = await fetchMany([...new Set(ids)]);
    return ids.map((id) => found.get(id));
  }, { maxBatch, maxInFlight: 1 });
  return { get: (id: string) => batch.add(id) };
}
