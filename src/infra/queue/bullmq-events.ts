// Job events for the BullMQ driver: one QueueEvents reader per job name, started when someone in
// this process first waits on or subscribes to a job of that name, and one listener on it that
// hands each event to the job's watchers (job-watchers.ts) by job id.
import type { QueueEvents } from 'bullmq';
import type { JobEvent, JobProgress, JobRecord } from './contract.js';
import { CANCELLED_EVENT, LOG_EVENT, RETRYING_EVENT, fromBullId } from './bullmq-keys.js';
import type { JobWatchers } from './job-watchers.js';

export interface JobEventHubDeps {
  /** a QueueEvents for this name reading from just after `lastEventId` */
  openQueueEvents(name: string, lastEventId: string): QueueEvents;
  /** the id of the newest event in this name's stream ('0-0' if empty), through the dependency deadline */
  lastEventId(name: string): Promise<string>;
  /** the job's record as it stands, to hand to waiters once it finished */
  fetchRecord(id: string, name: string): Promise<JobRecord | null>;
  onError(error: unknown): void;
}

const FINAL_EVENTS = new Set(['completed', 'failed', CANCELLED_EVENT]);

export class JobEventHub {
  private readonly readers = new Map<string, Promise<QueueEvents>>();
  /** every reader opened, for disconnect() after close() forgot them */
  private readonly opened = new Set<QueueEvents>();
  private closed = false;

  constructor(
    private readonly watchers: JobWatchers,
    private readonly deps: JobEventHubDeps,
  ) {}

  /**
   * Resolves once events of this name are being collected from a point before the call, so a
   * caller that then reads a job's state misses no event that follows the read.
   */
  async watch(name: string): Promise<void> {
    let reader = this.readers.get(name);
    if (!reader) {
      reader = this.deps.lastEventId(name).then((lastEventId) => {
        const events = this.deps.openQueueEvents(name, lastEventId);
        this.opened.add(events);
        events.on('error', (error) => this.deps.onError(error));
        for (const type of ['active', 'progress', 'completed', 'failed', 'waiting', RETRYING_EVENT, CANCELLED_EVENT, LOG_EVENT]) {
          events.on(type as 'active', (args: Record<string, unknown>) => this.dispatch(name, type, args));
        }
        return events;
      });
      this.readers.set(name, reader);
      // A failed start (Redis down) must not stick: the next caller tries again.
      reader.catch(() => this.readers.delete(name));
    }
    await reader;
  }

  private dispatch(name: string, type: string, args: Record<string, unknown>): void {
    if (this.closed || typeof args.jobId !== 'string') return;
    const id = fromBullId(args.jobId);
    const event = toJobEvent(type, id, name, args);
    if (event) this.watchers.emit(id, event);
    if (FINAL_EVENTS.has(type) && this.watchers.isWaited(id)) {
      this.deps.fetchRecord(id, name).then(
        (record) => record && this.watchers.settle(record),
        // The waiter's own timeout still answers it; the failure is logged.
        (error) => this.deps.onError(error),
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map((reader) => reader.then((events) => events.close(), () => {}).catch(() => {})));
  }

  /** Drops every reader's connection without a round trip (a shutdown that cannot reach Redis). */
  disconnect(): void {
    this.closed = true;
    for (const events of this.opened) events.disconnect().catch(() => {});
  }
}

function toJobEvent(type: string, jobId: string, name: string, args: Record<string, unknown>): JobEvent | null {
  switch (type) {
    case 'active':
      return { type: 'active', jobId, name };
    case 'waiting':
      return { type: 'queued', jobId, name };
    case 'progress':
      return { type: 'progress', jobId, name, progress: args.data as JobProgress };
    case 'completed':
      return { type: 'completed', jobId, name, result: args.returnvalue ?? null };
    case 'failed':
      return { type: 'failed', jobId, name, error: String(args.failedReason ?? 'failed'), willRetry: false };
    case RETRYING_EVENT:
      return { type: 'failed', jobId, name, error: String(args.error ?? 'failed'), willRetry: true };
    case CANCELLED_EVENT:
      return { type: 'cancelled', jobId, name };
    case LOG_EVENT:
      return { type: 'log', jobId, name, line: { at: Number(args.at), message: String(args.message ?? '') } };
    default:
      return null;
  }
}
