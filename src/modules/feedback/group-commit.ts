// Group commit: items submitted in the same event-loop turn (and while the previous write is in
// flight) are written by one statement, so one commit and one round trip serve many requests.
// Each submitter's promise settles only after the write holding its item has finished, so a
// request is never answered before its own row is committed.

export interface GroupCommitOptions {
  /** most items one write takes */
  maxBatch: number;
  /** writes allowed in flight at once (1 for SQLite, whose writes are serial anyway) */
  maxInFlight: number;
}

interface Pending<Item, Result> {
  item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export class GroupCommit<Item, Result> {
  private pending: Pending<Item, Result>[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `write` gets a batch and returns one result per item, in order; if it throws, every item of the batch fails with that error. */
  constructor(
    private readonly write: (items: Item[]) => Promise<Result[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: every request that arrived together joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.pending.length && this.inFlight < this.options.maxInFlight) {
        this.flush(this.pending.splice(0, this.options.maxBatch));
      }
    });
  }

  private flush(batch: Pending<Item, Result>[]): void {
    this.inFlight++;
    Promise.resolve()
      .then(() => this.write(batch.map((entry) => entry.item)))
      .then(
        (results) => {
          if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
          batch.forEach((entry, i) => entry.resolve(results[i]));
        },
        (error) => batch.forEach((entry) => entry.reject(error)),
      )
      .catch((error) => batch.forEach((entry) => entry.reject(error)))
      .finally(() => {
        this.inFlight--;
        if (this.pending.length) this.schedule();
      });
  }
}
