// How a queued job looks to API clients: snake_case fields and ISO-8601 times.
import { Type } from 'typebox';
import type { JobRecord } from '../../infra/queue/contract.js';

export const TaskSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('queued'), Type.Literal('delayed'), Type.Literal('active'), Type.Literal('completed'), Type.Literal('failed'), Type.Literal('cancelled')]),
  progress: Type.Unknown(),
  result: Type.Unknown(),
  error: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function taskView(job: JobRecord) {
  return {
    id: job.id,
    name: job.name,
    status: job.state,
    progress: job.progress,
    result: job.result,
    error: job.error,
    attempts: job.attempts,
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
  };
}
