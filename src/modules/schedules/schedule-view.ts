// Schedules as API clients send and see them: snake_case fields and RFC 3339 times.
import { Type } from 'typebox';
import type { ScheduleRecord } from '../../infra/queue/contract.js';

export const ScheduleBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'the schedule\'s name (letters, digits, . _ -): posting an id again replaces its schedule' }),
    cron: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'five fields (minute hour day-of-month month day-of-week) or six with a leading seconds field, as croner reads them',
      examples: ['0 3 * * *', '*/30 * * * * *'],
    }),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, default: 'UTC', description: 'IANA time zone the cron times are in (default UTC)', examples: ['Europe/Paris'] })),
    job: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 128, description: 'a job a module marks schedulable: compute.sum, harvest.text, harvest.images, stats.traffic' }),
        data: Type.Optional(Type.Unknown({ description: 'the job\'s data, checked against that job\'s schema (see the description above)' })),
      },
      { additionalProperties: false },
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { id: 'nightly-sum', cron: '0 3 * * *', timezone: 'Europe/Paris', job: { name: 'compute.sum', data: { numbers: [1, 2, 3] } } },
      { id: 'front-page-text', cron: '*/15 * * * *', job: { name: 'harvest.text', data: { url: 'https://example.com/' } } },
    ],
  },
);

const timeOrNull = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const ScheduleSchema = Type.Object({
  id: Type.String(),
  cron: Type.String(),
  timezone: Type.String(),
  job: Type.Object({ name: Type.String(), data: Type.Unknown({ description: 'what each task it makes is given' }) }),
  next_run_at: timeOrNull('the next due time; null when the expression has no more'),
  last_run_at: timeOrNull('the due time it last fired for; null before the first'),
  last_task_id: Type.Union([Type.String(), Type.Null()], { description: 'the task it made last (see /tasks/{id})' }),
  fired: Type.Integer({ description: 'how many tasks it has made' }),
  created_at: Type.String({ format: 'date-time' }),
});

export const ScheduleParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function scheduleView(schedule: ScheduleRecord) {
  return {
    id: schedule.id,
    cron: schedule.cron,
    timezone: schedule.timezone,
    job: { name: schedule.job.name, data: schedule.job.data },
    next_run_at: iso(schedule.nextRunAt),
    last_run_at: iso(schedule.lastRunAt),
    last_task_id: schedule.lastJobId,
    fired: schedule.fired,
    created_at: iso(schedule.createdAt)!,
  };
}
