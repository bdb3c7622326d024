// What an operator does with tasks (#18): list them (newest first, a page at a time), and queue
// dead ones again, one or all of a name. Admin only.
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, notFound, validationError } from '../../errors.js';
import { JOB_STATES, type JobFilter, type JobState, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../../infra/queue/contract.js';
import { TaskSchema, taskView } from './task-view.js';

// as contract.ts assertJobName: the queue refuses any other name
const JOB_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
const nameField = (description: string) => Type.String({ pattern: JOB_NAME, description });
const timeField = (description: string) => Type.String({ format: 'date-time', description, examples: ['2030-01-01T09:00:00Z'] });

const ListQuery = Type.Object({
  name: Type.Optional(nameField('only tasks of this job name, e.g. compute.sum')),
  state: Type.Optional(Type.Unsafe<JobState>({ type: 'string', enum: [...JOB_STATES], description: 'only tasks in this state' })),
  group: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000, description: 'only tasks of this group' })),
  created_after: Type.Optional(timeField('only tasks created at or after this time (RFC 3339)')),
  created_before: Type.Optional(timeField('only tasks created before this time (RFC 3339)')),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX, description: `tasks per page (default ${LIST_LIMIT_DEFAULT})` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000, description: 'next_cursor of the page before' })),
});

const TaskPage = Type.Object({
  tasks: Type.Array(TaskSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'the cursor of the next page; null on the last' }),
});

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

const RetryManyBody = Type.Object(
  {
    name: nameField('the job name whose failed tasks are retried'),
    state: Type.Literal('failed', { description: 'only failed tasks can be retried' }),
    failed_after: Type.Optional(timeField('only tasks that failed at or after this time (RFC 3339)')),
  },
  { additionalProperties: false },
);

/** An RFC 3339 time the schema let through, as epoch ms (a date such as 2030-02-30 passes the format but is no time). */
function timeOf(field: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw validationError(field, `${field}: must be an RFC 3339 date-time, e.g. 2030-01-01T09:00:00Z`);
  return ms;
}

/** The queue names a bad filter by its field in the contract's words; the API's are snake_case. */
const FIELD_OF: Record<string, string> = { createdAfter: 'created_after', createdBefore: 'created_before', failedAfter: 'failed_after' };
function asValidationError(error: unknown): unknown {
  if (!(error instanceof RangeError)) return error;
  const word = /^\w+/.exec(error.message)?.[0] ?? 'query';
  const field = FIELD_OF[word] ?? word;
  return validationError(field, `${field}: ${error.message}`);
}

export function operateRoutes(app: App, ctx: AppContext) {
  app.get('/tasks', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags: ['tasks'],
      summary: 'Tasks newest first, filtered, a page at a time (follow next_cursor)',
      querystring: ListQuery,
      response: { 200: TaskPage, 400: ErrorReply, 401: ErrorReply },
    },
  }, async (request) => {
    const query = request.query;
    const filter: JobFilter = {
      name: query.name,
      state: query.state,
      group: query.group,
      createdAfter: timeOf('created_after', query.created_after),
      createdBefore: timeOf('created_before', query.created_before),
      limit: query.limit,
      cursor: query.cursor,
    };
    const page = await ctx.queue.listJobs(filter).catch((error) => {
      throw asValidationError(error);
    });
    return { tasks: page.jobs.map(taskView), next_cursor: page.nextCursor };
  });

  app.post('/tasks/:id/retry', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags: ['tasks'],
      summary: 'Queue a failed task again (same id, fresh attempts, its history kept); 409 if it did not fail',
      params: Params,
      response: { 200: TaskSchema, 401: ErrorReply, 404: ErrorReply, 409: ErrorReply },
    },
  }, async (request) => {
    const { id } = request.params;
    const outcome = await ctx.queue.retry(id);
    if (outcome === 'not_found') throw notFound(`task ${id}`);
    if (outcome === 'not_failed') throw new AppError('conflict', 'the task has not failed; only a failed task can be retried');
    const job = await ctx.queue.getJob(id);
    if (!job) throw notFound(`task ${id}`);
    return taskView(job);
  });

  app.post('/tasks/retry', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags: ['tasks'],
      summary: 'Queue again every failed task of a name (that failed at or after failed_after); how many',
      body: RetryManyBody,
      response: { 200: Type.Object({ retried: Type.Integer({ minimum: 0, description: 'how many tasks were queued again' }) }), 400: ErrorReply, 401: ErrorReply },
    },
  }, async (request) => {
    const { name, failed_after } = request.body;
    const retried = await ctx.queue.retryFailed({ name, failedAfter: timeOf('failed_after', failed_after) }).catch((error) => {
      throw asValidationError(error);
    });
    return { retried };
  });
}
