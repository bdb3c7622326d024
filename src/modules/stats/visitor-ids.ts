// Cookieless visitor ids: a hash of the day's secret salt, the client address and the user agent.
// The salt is shared by every API process through the counters' store and is never kept past its
// day, so one visitor's ids of two days cannot be linked, and an id reveals neither the address
// nor the agent. Tomorrow's salt is fetched ahead, so the switch at midnight (UTC) has no gap.
import { createHash } from 'node:crypto';
import { BUCKET_MS, bucketStart, utcDay } from '../../infra/counters/buckets.js';
import type { Counters } from '../../infra/counters/contract.js';

/** how often the salts of today and tomorrow are looked up again (a new day, or a restarted store) */
const REFRESH_MS = 10 * 60_000;
const RETRY_MS = 5_000;
/** ids kept per day for the visitors seen since the salts were last looked up; past this, forgotten */
const IDS_KEPT = 10_000;

export class VisitorIds {
  /** salt by the start of its UTC day (epoch ms) */
  private salts = new Map<number, string>();
  /**
   * Ids already made, by day, then by address and agent: a sha256 per request was 2.7 µs of a
   * counted GET (a profile under autocannon), and a visitor makes many requests. Dropped with the
   * salts at each look-up (every 10 minutes), so none outlives its salt.
   */
  private ids = new Map<number, Map<string, string>>();
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  /** after a failed look-up, requests do not ask again before this (a store that is down is not flooded, nor the log) */
  private retryAt = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly counters: Pick<Counters, 'daySalt'>,
    private readonly log: { warn(obj: object, msg: string): void },
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads today's and tomorrow's salts, then keeps them fresh. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
    return this.refresh();
  }

  /**
   * The id of a request at `at`, or '' while the day's salt is not yet known (the request is
   * counted, not as a visitor). Synchronous: it runs on every request.
   */
  id(address: string, userAgent: string, at: number): string {
    const day = bucketStart(at, 'day');
    const salt = this.salts.get(day);
    if (salt === undefined) {
      if (at >= this.retryAt) void this.refresh();
      return '';
    }
    let made = this.ids.get(day);
    if (!made) this.ids.set(day, (made = new Map()));
    const visitor = `${address}\0${userAgent}`;
    let id = made.get(visitor);
    if (id === undefined) {
      // 128 bits are plenty to tell visitors apart, and half the buffered key
      id = createHash('sha256').update(salt).update('\0').update(address).update('\0').update(userAgent).digest('hex').slice(0, 32);
      if (made.size >= IDS_KEPT) made.clear();
      made.set(visitor, id);
    }
    return id;
  }

  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
  }

  private async load(): Promise<void> {
    const now = this.now();
    const today = bucketStart(now, 'day');
    try {
      const salts = new Map<number, string>();
      for (const day of [today, today + BUCKET_MS.day]) salts.set(day, await this.counters.daySalt(utcDay(day), now));
      // yesterday's salt is dropped here too: nothing in this process keeps it past its day
      this.salts = salts;
      this.ids = new Map();
      this.failures = 0;
    } catch (error) {
      // A store still connecting at start fails the first look-up: try again soon, then less often.
      const delay = Math.min(RETRY_MS, 100 * 2 ** this.failures++);
      this.retryAt = now + delay;
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.refresh(), delay);
      this.retryTimer.unref();
      if (this.failures === 1 || delay === RETRY_MS) this.log.warn({ err: error }, 'stats: the visitor salt could not be read; requests are counted without visitors until it can');
    }
  }
}
