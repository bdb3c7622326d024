// How a job name's overview looks to API clients (GET /queues): snake_case, milliseconds.
import { Type } from 'typebox';
import type { QueueOverview } from '../../infra/queue/contract.js';

const count = (state: string) => Type.Integer({ minimum: 0, description: `jobs ${state}` });

export const QueueSchema = Type.Object({
  name: Type.String({ description: 'the job name, e.g. compute.sum' }),
  counts: Type.Object({
    queued: count('due, waiting for a worker'),
    delayed: count('waiting for their run time'),
    active: count('running'),
    completed: count('completed (kept 7 days)'),
    failed: count('failed (kept 7 days)'),
    cancelled: count('cancelled (kept 7 days)'),
  }),
  paused: Type.Boolean({ description: 'no new run starts on any worker while paused; running ones finish' }),
  oldest_waiting_ms: Type.Union([Type.Integer(), Type.Null()], { description: 'how long the oldest queued job has waited since it became due; null when none waits' }),
  wait_ms: Type.Union([Type.Object({ p50: Type.Integer(), p95: Type.Integer() }), Type.Null()], {
    description: 'wait (due → started) of the runs started in the last 5 minutes; null when none started',
  }),
  completions_per_minute: Type.Number({ description: 'jobs completed in the last 5 minutes, divided by 5' }),
});

export const QueueListSchema = Type.Object({ queues: Type.Array(QueueSchema) });

export function queueView(overview: QueueOverview) {
  return {
    name: overview.name,
    counts: { ...overview.counts },
    paused: overview.paused,
    oldest_waiting_ms: overview.oldestWaitingMs === null ? null : Math.round(overview.oldestWaitingMs),
    wait_ms: overview.waitMs === null ? null : { p50: Math.round(overview.waitMs.p50), p95: Math.round(overview.waitMs.p95) },
    completions_per_minute: overview.completionsPerMinute,
  };
}
