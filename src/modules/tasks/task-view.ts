// How a queued job looks to API clients: snake_case fields and ISO-8601 (RFC 3339) times.
import { Type } from 'typebox';
import { JOB_STATES, type JobRecord, type JobState, PRIORITY_DEFAULT, PRIORITY_FIRST, PRIORITY_LAST } from '../../infra/queue/contract.js';

const stateSchema = (description: string) => Type.Unsafe<JobState>({ type: 'string', enum: [...JOB_STATES], description });
const time = (description: string) => Type.String({ format: 'date-time', description });
const timeOrNull = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const TaskSchema = Type.Object({
  id: Type.String(),
  name: Type.String({ description: 'the job name, e.g. compute.sum' }),
  state: stateSchema('queued (due, waiting for a worker), delayed (waiting for run_at: a run_at or run_in_ms, or a retry\'s backoff), active, completed, failed or cancelled'),
  status: stateSchema('the same as state (its first name, kept for the clients that read it)'),
  progress: Type.Unknown(),
  result: Type.Unknown(),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the last run failed; a run past its timeout_ms says `timeout: …`' }),
  attempts: Type.Integer({ description: 'runs started so far' }),
  max_attempts: Type.Integer({ description: 'runs allowed, the first included' }),
  priority: Type.Integer({ minimum: PRIORITY_FIRST, maximum: PRIORITY_LAST, description: `${PRIORITY_FIRST} runs first, ${PRIORITY_LAST} last (default ${PRIORITY_DEFAULT})` }),
  run_at: time('when it is, or was last, due to run'),
  timeout_ms: Type.Union([Type.Integer(), Type.Null()], { description: 'how long one run may take; null: no timeout' }),
  group: Type.Optional(Type.String({ description: 'only when set: the group whose limits it runs under (harvest: the page\'s host)' })),
  key: Type.Optional(Type.String({ description: 'only when set: its deduplication key' })),
  created_at: time('when it was queued'),
  started_at: timeOrNull('when its last run started'),
  finished_at: timeOrNull('when it ended'),
  dead: Type.Boolean({ description: 'failed with no attempts left: only a retry (POST /tasks/{id}/retry) runs it again' }),
  stack: Type.Union([Type.String(), Type.Null()], { description: 'the stack of the failure in error (trimmed to 4,096 characters); null when there is no error or it had none' }),
  attempt_history: Type.Array(
    Type.Object({
      attempt: Type.Integer({ description: '1 for the first run; runs after a retry go on counting' }),
      started_at: time('when the run started'),
      finished_at: timeOrNull('when it ended; null while it runs'),
      error: Type.Union([Type.String(), Type.Null()], { description: 'why it failed (`stalled`: its worker stopped); null if it completed or still runs' }),
    }),
    { description: 'its runs, oldest first (the last 50), kept across retries' },
  ),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function taskView(job: JobRecord) {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    status: job.state,
    progress: job.progress,
    result: job.result,
    error: job.error,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    priority: job.priority,
    run_at: iso(job.runAt)!,
    timeout_ms: job.timeoutMs,
    ...(job.group === null ? {} : { group: job.group }),
    ...(job.key === null ? {} : { key: job.key }),
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    dead: job.dead,
    stack: job.stack,
    attempt_history: job.history.map((run) => ({ attempt: run.attempt, started_at: iso(run.startedAt)!, finished_at: iso(run.finishedAt), error: run.error })),
  };
}
