// Group commit of directory fsyncs. A rename is durable once its directory has been synced; puts
// that land in the same directory at the same time (every key under 64 bytes lands in the objects
// directory itself) need not each sync it. A sync asked for while none runs starts at once; those
// asked for while one runs share the next one, which starts when the running one ends — never the
// running one, which may have begun before their rename. So every caller's rename precedes the
// fsync that answers it, and under load one fsync answers every put of a turn.
import fs from 'node:fs';

interface Pending {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class DirectorySyncs {
  private readonly running = new Map<string, Promise<void>>();
  private readonly next = new Map<string, Pending>();

  /** `syncOnce`: the fsync itself (a parameter so that a test can count them) */
  constructor(private readonly syncOnce: (dir: string) => Promise<void> = fsyncDirectory) {}

  /** Resolves once `dir` has been fsynced by a sync that began after this call. */
  sync(dir: string): Promise<void> {
    const queued = this.next.get(dir);
    if (queued) return queued.promise;
    if (!this.running.has(dir)) return this.start(dir);
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.next.set(dir, { promise, resolve, reject });
    return promise;
  }

  private start(dir: string): Promise<void> {
    const run = this.syncOnce(dir).finally(() => {
      this.running.delete(dir);
      const waiting = this.next.get(dir);
      if (!waiting) return;
      this.next.delete(dir);
      this.start(dir).then(waiting.resolve, waiting.reject);
    });
    this.running.set(dir, run);
    return run;
  }
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
