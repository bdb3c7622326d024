// `task.completed` and `task.failed`, for every job of the queue, recorded by the queue's finish
// hook: on the SQL queue in the transaction that records the finish (exactly one event per job
// that ended for good), on BullMQ once BullMQ recorded it (at most one: a worker that dies in
// between loses the event). Only while some consumer wants them: one outbox row per job cost the
// SQL queue about a third of its no-op throughput on SQLite, a price for webhooks no one registered.
import type { FinishHook, FinishedJob } from '../queue/contract.js';
import type { EventOutbox, NewEvent } from './contract.js';

/**
 * Webhook deliveries are jobs too: were their finishes events, every delivery would make another
 * delivery, without end. Job names under this prefix are not reported.
 */
const UNREPORTED_PREFIX = 'webhooks.';

export function taskEventsOf(jobs: FinishedJob[]): NewEvent[] {
  return jobs
    .filter((job) => !job.name.startsWith(UNREPORTED_PREFIX))
    .map((job) => ({
      type: job.state === 'completed' ? 'task.completed' : 'task.failed',
      data: {
        id: job.id,
        name: job.name,
        status: job.state,
        ...(job.state === 'completed' ? { result: job.result } : { error: job.error }),
        finished_at: new Date(job.finishedAt).toISOString(),
      },
    }));
}

/** The finish hook that records task events in `outbox` (in the finish's transaction when there is one). */
export function recordTaskEvents(outbox: EventOutbox): FinishHook {
  return async (jobs, db) => {
    if (!outbox.wants('task.completed') && !outbox.wants('task.failed')) return;
    const events = taskEventsOf(jobs).filter((event) => outbox.wants(event.type));
    if (!events.length) return;
    if (db) await outbox.recordIn(db, events);
    else await outbox.record(events);
  };
}
