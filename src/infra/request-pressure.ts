// Work that can wait yields to requests. Webhook deliveries run in the API's process in the
// embedded shape, on the same event loop as the requests: left to themselves they take as much of
// it as the requests do (a third of POST /feedback/sync's rate went to delivering its events,
// bench:webhooks). While requests keep this process's event loop busy, such work starts only a few
// times per interval (never none: it still moves on), and the rest waits its turn until the loop
// has room again. A worker-only process serves no requests, so its work never waits.
//
// Who keeps the loop busy is found by trying: when the loop was busy while requests came, yielding
// work stops starting for a moment; if the loop stays busy without it, the requests fill it and it
// keeps yielding; if the loop then has room, that work was what filled it, and it runs freely
// for a while before the next try. Requests are seen by the HTTP server's 'request' event (no
// Fastify hook on the hot path); the loop's busyness is Node's event loop utilisation.
import { type EventLoopUtilization, performance } from 'node:perf_hooks';

export interface RequestPressureOptions {
  /** how often the loop is looked at */
  sampleMs?: number;
  /** event loop utilisation at or above which the loop counts as busy */
  busyAbove?: number;
  /** while yielding, the utilisation below which the requests no longer fill the loop (lower: a dip of a sample does not end it) */
  stillBusyAbove?: number;
  /** turns given per sample while yielding: the least pace of yielding work (1 every 25 ms: about 40 a second) */
  turnsPerSample?: number;
  /** samples that run freely after a try found the requests were not what filled the loop */
  freeSamplesAfterTry?: number;
  /** the utilisation of the loop since the last sample (a parameter so that a test can drive it) */
  utilisation?: () => number;
}

export type State = 'free' | 'trying' | 'yielding';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RequestPressure {
  private readonly sampleMs: number;
  private readonly busyAbove: number;
  private readonly stillBusyAbove: number;
  private readonly turnsPerSample: number;
  private readonly freeSamplesAfterTry: number;
  private readonly utilisation: () => number;
  private state: State = 'free';
  /** requests begun since the last sample */
  private requests = 0;
  /** samples of the current try: the first lets the work already started finish, the second judges */
  private trySamples = 0;
  /** samples left before another try */
  private freeSamples = 0;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** the number of times work has waited for a turn (for /metrics and tests) */
  waits = 0;

  constructor(options: RequestPressureOptions = {}) {
    this.sampleMs = options.sampleMs ?? 25;
    this.busyAbove = options.busyAbove ?? 0.9;
    this.stillBusyAbove = options.stillBusyAbove ?? 0.75;
    this.turnsPerSample = options.turnsPerSample ?? 1;
    this.freeSamplesAfterTry = options.freeSamplesAfterTry ?? 10;
    this.utilisation = options.utilisation ?? loopUtilisation();
  }

  /** Called for every request this process begins to serve. */
  readonly requestBegun = (): void => {
    this.requests++;
    // looked at only while requests come: an idle process wakes for nothing
    this.scheduleSample();
  };

  /** free: turns at once; trying: held back a moment to see who fills the loop; yielding: a few turns a sample */
  get mode(): State {
    return this.state;
  }

  get yielding(): boolean {
    return this.state !== 'free';
  }

  /** Resolves when work that yields to requests may start; rejects when `signal` aborts first. */
  turn(signal?: AbortSignal): Promise<void> {
    if (this.state === 'free' && this.waiting.length === 0) return Promise.resolve();
    signal?.throwIfAborted();
    this.waits++;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
      this.scheduleSample();
    });
  }

  /** Lets every waiting work start (shutdown: what waits must not outlive the process's grace). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = 'free';
    this.release(this.waiting.length);
  }

  private sample(): void {
    this.timer = undefined;
    const utilisation = this.utilisation();
    const busy = utilisation >= this.busyAbove;
    const requests = this.requests;
    this.requests = 0;
    if (this.state === 'free') {
      if (this.freeSamples > 0) this.freeSamples--;
      else if (busy && requests > 0) {
        this.state = 'trying';
        this.trySamples = 0;
      }
    } else if (this.state === 'trying') {
      this.trySamples++;
      if (this.trySamples >= 2) {
        // busy without the yielding work: the requests fill the loop; otherwise that work did,
        // and it runs freely for a while before the next try
        if (busy && requests > 0) this.state = 'yielding';
        else {
          this.state = 'free';
          this.freeSamples = this.freeSamplesAfterTry;
        }
      }
    } else if (utilisation < this.stillBusyAbove || requests === 0) {
      // the requests no longer fill the loop: yielding work runs again, and may yield again at once
      this.state = 'free';
    }
    this.release(this.state === 'free' ? this.waiting.length : this.turnsPerSample);
    // keep looking while requests come or work waits
    if (requests > 0 || this.waiting.length > 0) this.scheduleSample();
  }

  /** The next sample, unless one is due already. */
  private scheduleSample(): void {
    this.timer ??= setTimeout(() => this.sample(), this.sampleMs).unref();
  }

  private release(count: number): void {
    for (const waiter of this.waiting.splice(0, count)) {
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
  }
}

/** The event loop's utilisation since the last call. */
function loopUtilisation(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, last);
    last = now;
    return since.utilization;
  };
}

