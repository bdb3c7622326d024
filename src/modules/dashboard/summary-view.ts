// GET /dashboard/summary: the figures behind the page, for scripts and for tests. snake_case and
// ISO-8601 times, as everywhere in the API; a panel without data says why instead.
import { type TSchema, Type } from 'typebox';
import type { Panel } from './panels/panel.js';
import type { DashboardSummary } from './summary.js';

const Unavailable = Type.Object({ available: Type.Literal(false), reason: Type.String() });
const panel = <T extends TSchema>(fields: T) => Type.Union([fields, Unavailable]);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const SummarySchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  queues: panel(Type.Object({
    available: Type.Literal(true),
    jobs: Type.Array(Type.Object({
      name: Type.String(),
      waiting: Type.Integer(),
      active: Type.Integer(),
      completed: Type.Integer(),
      failed: Type.Integer(),
      cancelled: Type.Integer(),
      paused: Type.Boolean(),
      completion_rate: NullableNumber,
      completed_per_minute: NullableNumber,
    })),
  })),
  tasks: panel(Type.Object({
    available: Type.Literal(true),
    tasks: Type.Array(Type.Object({
      id: Type.String(),
      name: Type.String(),
      status: Type.String(),
      error: Type.Union([Type.String(), Type.Null()]),
      created_at: Type.String({ format: 'date-time' }),
      started_at: NullableTime,
      finished_at: NullableTime,
    })),
  })),
  failed: panel(Type.Object({
    available: Type.Literal(true),
    tasks: Type.Array(Type.Object({
      id: Type.String(),
      name: Type.String(),
      error: Type.Union([Type.String(), Type.Null()]),
      attempts: Type.Integer(),
      max_attempts: Type.Integer(),
      finished_at: NullableTime,
    })),
  })),
  stats: panel(Type.Object({
    available: Type.Literal(true),
    total: Type.Integer(),
    unique: Type.Integer(),
    paths: Type.Array(Type.Object({ path: Type.String(), count: Type.Integer() })),
    hourly: Type.Array(Type.Object({ t: Type.String({ format: 'date-time' }), count: Type.Integer() }), { description: 'requests of every path per hour, last 24 hours' }),
  })),
  blobs: panel(Type.Object({
    available: Type.Literal(true),
    driver: Type.String(),
    count: Type.Integer(),
    bytes: Type.Integer(),
    exact: Type.Boolean({ description: 'false when counted from the first listing page only (a lower bound)' }),
  })),
});

function view<T, V extends object>(p: Panel<T>, map: (data: T) => V): ({ available: true } & V) | { available: false; reason: string } {
  return p.available ? { available: true, ...map(p.data) } : { available: false, reason: p.reason };
}

export function summaryView(summary: DashboardSummary) {
  return {
    at: new Date(summary.at).toISOString(),
    queues: view(summary.queues, (rows) => ({
      jobs: rows.map((r) => ({
        name: r.name,
        waiting: r.waiting,
        active: r.active,
        completed: r.completed,
        failed: r.failed,
        cancelled: r.cancelled,
        paused: r.paused,
        completion_rate: r.completionRate,
        completed_per_minute: r.completedPerMinute,
      })),
    })),
    tasks: view(summary.tasks, (tasks) => ({
      tasks: tasks.map((t) => ({
        id: t.id,
        name: t.name,
        status: t.state,
        error: t.error,
        created_at: iso(t.createdAt)!,
        started_at: iso(t.startedAt),
        finished_at: iso(t.finishedAt),
      })),
    })),
    failed: view(summary.failed, (tasks) => ({
      tasks: tasks.map((t) => ({ id: t.id, name: t.name, error: t.error, attempts: t.attempts, max_attempts: t.maxAttempts, finished_at: iso(t.finishedAt) })),
    })),
    stats: view(summary.stats, (stats) => ({ ...stats, hourly: stats.hourly.map((p) => ({ t: new Date(p.start).toISOString(), count: p.count })) })),
    blobs: view(summary.blobs, (totals) => totals),
  };
}
