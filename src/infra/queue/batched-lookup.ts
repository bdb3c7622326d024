// Reads by id coalesced per tick: ten thousand waitForFinish calls made at once cost twenty
// reads of 500 ids, one after the other, not ten thousand reads queued at once behind one
// connection or a small pool, the last ones past the dependency deadline.
export class BatchedLookup<V> {
  private pending = new Map<string, { resolve: (value: V | undefined) => void; reject: (error: unknown) => void }[]>();
  private scheduled = false;

  constructor(
    /** the values of those ids that exist */
    private readonly fetchMany: (ids: string[]) => Promise<Map<string, V>>,
    private readonly chunkSize = 500,
  ) {}

  get(id: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const callers = this.pending.get(id);
      if (callers) callers.push({ resolve, reject });
      else this.pending.set(id, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Chunks go one after the other: each gets the whole dependency deadline to itself. */
  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += this.chunkSize) {
      const chunk = ids.slice(i, i + this.chunkSize);
      try {
        const found = await this.fetchMany(chunk);
        chunk.forEach((id) => batch.get(id)!.forEach((caller) => caller.resolve(found.get(id))));
      } catch (error) {
        chunk.forEach((id) => batch.get(id)!.forEach((caller) => caller.reject(error)));
      }
    }
  }
}
