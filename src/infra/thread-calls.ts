// Calls to a worker thread that answers each message it is sent with a message of its own under
// the same id: the threads that take work off the event loop (sqlite-thread.ts, digest-thread.ts).
// The callers wait by id; the thread holds the process open only while a call waits, as a request
// on a socket would; a thread that fails or ends fails what it was sent, and the next call starts
// another.
import type { Worker } from 'node:worker_threads';

export class ThreadCalls<Answer extends { id: number }> {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();
  // 0 is left for what a thread gives a meaning of its own (the SQLite thread's close)
  private nextId = 1;

  constructor(
    /** what the thread is called in errors: "the SQLite thread" */
    private readonly name: string,
    private readonly start: () => Worker,
  ) {}

  /** Sends `message` under an id of its own; resolves with the thread's answer to it. */
  call(message: object): Promise<Answer> {
    const worker = this.worker ?? this.started();
    const id = this.nextId++;
    if (this.waiting.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  /** The running thread, handed over to be stopped (the next call starts another); none when none runs. */
  detach(): Worker | undefined {
    const worker = this.worker;
    this.worker = undefined;
    return worker;
  }

  private started(): Worker {
    const worker = this.start();
    worker.unref();
    worker.on('message', (answer: Answer) => {
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      waiter.resolve(answer);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', (error) => fail(new Error(`${this.name} failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => fail(new Error(`${this.name} ended (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
