// Who in this process waits on a job (waitForFinish) or listens to its events (subscribe), for both
// queue drivers: maps by job id, so ten thousand waiters cost ten thousand map entries, not ten
// thousand listeners on an emitter. The drivers only tell it what they saw: events and finishes.
import { TimeoutError, notFound } from '../../errors.js';
import type { JobEvent, JobRecord } from './contract.js';

type Waiter = (record: JobRecord) => void;
type Listener = (event: JobEvent) => void;

/** What a driver found when a waiter started: the job may have finished before anyone waited. */
export type FinishCheck = JobRecord | 'waiting' | 'not_found';

export class JobWatchers {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private pollTimer?: NodeJS.Timeout;

  /**
   * waitForFinish: resolves at settle(), rejects with a TimeoutError after timeoutMs (the job goes
   * on). `check` runs once the waiter is in place, so a finish between the two is not missed.
   */
  wait(id: string, timeoutMs: number, check: () => Promise<FinishCheck>): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      const done = (outcome: () => void) => {
        clearTimeout(timer);
        remove(this.waiters, id, waiter);
        outcome();
      };
      const waiter = (record: JobRecord) => done(() => resolve(record));
      add(this.waiters, id, waiter);
      const timer = setTimeout(() => done(() => reject(new TimeoutError(`job ${id} did not finish within ${timeoutMs} ms`))), timeoutMs);
      check().then(
        (found) => {
          if (found === 'not_found') done(() => reject(notFound(`job ${id}`)));
          else if (found !== 'waiting') waiter(found);
        },
        (error) => done(() => reject(error)),
      );
    });
  }

  /** subscribe: a finish may be seen more than once (locally, from the backend, by polling); each listener hears the final event once. */
  listen(id: string, listener: Listener): () => void {
    let ended = false;
    const once: Listener = (event) => {
      if (isFinal(event)) {
        if (ended) return;
        ended = true;
      }
      listener(event);
    };
    add(this.listeners, id, once);
    return () => remove(this.listeners, id, once);
  }

  isWaited(id: string): boolean {
    return this.waiters.has(id);
  }

  isWatched(id: string): boolean {
    return this.waiters.has(id) || this.listeners.has(id);
  }

  emit(id: string, event: JobEvent): void {
    const set = this.listeners.get(id);
    if (set) for (const listener of [...set]) listener(event);
  }

  /** Hands a finished job to its waiters, and its final event to its listeners. */
  settle(record: JobRecord): void {
    this.emit(record.id, finalEvent(record));
    const set = this.waiters.get(record.id);
    if (set) for (const waiter of [...set]) waiter(record);
  }

  /**
   * Every `everyMs`, asks the backend which of the jobs waited on (and listened to, with
   * `listeners`) finished, and settles them: a lost finish event or signal delays an answer
   * instead of losing it.
   */
  poll(everyMs: number, finished: (ids: string[]) => Promise<JobRecord[]>, onError: (error: unknown) => void, { listeners = false } = {}): void {
    let polling = false;
    this.pollTimer = setInterval(async () => {
      const ids = listeners ? [...new Set([...this.waiters.keys(), ...this.listeners.keys()])] : [...this.waiters.keys()];
      if (polling || !ids.length) return;
      polling = true;
      try {
        for (const record of await finished(ids)) this.settle(record);
      } catch (error) {
        onError(error);
      } finally {
        polling = false;
      }
    }, everyMs);
    this.pollTimer.unref();
  }

  stopPolling(): void {
    clearInterval(this.pollTimer);
  }

  /** At close: waiters are left to their timeouts, listeners hear nothing more. */
  clear(): void {
    this.waiters.clear();
    this.listeners.clear();
  }
}

function add<T>(map: Map<string, Set<T>>, id: string, value: T): void {
  const set = map.get(id);
  if (set) set.add(value);
  else map.set(id, new Set([value]));
}

function remove<T>(map: Map<string, Set<T>>, id: string, value: T): void {
  const set = map.get(id);
  set?.delete(value);
  if (set?.size === 0) map.delete(id);
}

function isFinal(event: JobEvent): boolean {
  return event.type === 'completed' || event.type === 'cancelled' || (event.type === 'failed' && !event.willRetry);
}

function finalEvent(record: JobRecord): JobEvent {
  if (record.state === 'completed') return { type: 'completed', jobId: record.id, name: record.name, result: record.result };
  if (record.state === 'cancelled') return { type: 'cancelled', jobId: record.id, name: record.name };
  return { type: 'failed', jobId: record.id, name: record.name, error: record.error ?? 'failed', willRetry: false };
}
