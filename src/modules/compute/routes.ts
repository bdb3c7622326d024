// compute's HTTP surface: /sync/sum waits for the worker without holding the event loop (the
// request is just a pending promise while the queue works), /async/* hands out an id to poll.
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, TimeoutError, notFound } from '../../errors.js';
import { sendPage } from '../../http/page.js';
import { splitTaskOptions } from '../../http/task-options.js';
import { TickBatch } from '../../infra/tick-batch.js';
import type { SumJobData, SumJobResult } from './jobs.js';
import { acceptJsonBodiesOnly } from './json-body.js';
import {
  AsyncSumBody,
  SUM_BODY_LIMIT,
  SUMMATION_NOTE,
  SessionParams,
  SessionQuery,
  SessionReply,
  SumBody,
  SyncSumReply,
  TaskResultReply,
} from './schemas.js';
import type { ComputeTaskStore } from './store.js';
import { SumTaskStarter, failedSumError, readSumTask, sumJobData, viewOfJob } from './sum-tasks.js';
import { type TaskRow, tasksPage } from './views/tasks-page.js';

const tags = ['compute'];

export function computeRoutes(app: App, ctx: AppContext, store: ComputeTaskStore): void {
  acceptJsonBodiesOnly(app);
  // Sync sums finishing together are answered 16 a turn (see PACED_BATCHES).
  const answers = new TickBatch<void>(async (calls) => calls, { maxBatch: 16, runsPerTurn: 1 });
  const tasks = new SumTaskStarter(ctx, store);

  app.post('/sync/sum', {
    bodyLimit: SUM_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Add numbers in a worker and wait for the sum (the server keeps serving meanwhile)',
      description:
        `${SUMMATION_NOTE}\n\nThe request waits for the worker without blocking the server. Past WORKYARD_SYNC_TIMEOUT_MS ` +
        '(default 10 s) it answers 504 with the `task_id`, and the result stays readable at /async/get_task_result/{task_id}.',
      body: SumBody,
      response: { 200: SyncSumReply, 400: ErrorReply, 409: ErrorReply, 413: ErrorReply, 415: ErrorReply, 503: ErrorReply, 504: ErrorReply },
    },
  }, async (request) => {
    const id = await tasks.start(sumJobData(request.body));
    const job = await waitForSum(ctx, id);
    await answers.add();
    const view = viewOfJob(job);
    if (view.status !== 'done') throw failedSumError(id, view);
    return { result: view.result!, task_id: id };
  });

  app.post('/async/post_task', {
    bodyLimit: SUM_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Queue a sum task and answer at once with its id',
      description:
        `${SUMMATION_NOTE}\n\nAnswers 202 with a \`session_id\`; read the result at /async/get_task_result (and the task at /tasks/{session_id}). ` +
        'run_at or run_in_ms, priority, timeout_ms, key and key_mode say when and how the task runs (see the Queue section of the README).',
      body: AsyncSumBody,
      response: { 202: SessionReply, 400: ErrorReply, 413: ErrorReply, 415: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const { options, rest } = splitTaskOptions(request.body);
    const id = await tasks.start(sumJobData(rest), options);
    return reply.status(202).send({ session_id: id });
  });

  const resultSchema = {
    tags,
    summary: 'Status and result of a sum task',
    description:
      'Read from the task record in the SQL database, so results outlive restarts and the queue\'s retention. ' +
      'status: pending (queued), running (a worker has it), done (`result` is the sum) or failed (`error` says why).',
    response: { 200: TaskResultReply, 400: ErrorReply, 404: ErrorReply, 503: ErrorReply },
  };
  const answerTaskResult = async (id: string) => {
    const view = await readSumTask(ctx, store, id);
    if (!view) throw notFound(`sum task ${id}`);
    return view;
  };
  app.get('/async/get_task_result', { schema: { ...resultSchema, querystring: SessionQuery } }, (request) => answerTaskResult(request.query.session_id));
  app.get('/async/get_task_result/:session_id', { schema: { ...resultSchema, params: SessionParams } }, (request) => answerTaskResult(request.params.session_id));

  // What the home page links to: a person has no task id to put in /async/get_task_result.
  app.get('/async/tasks', {
    config: { htmlPage: true },
    schema: {
      tags,
      summary: 'The newest sum tasks as a page (HTML): state, result or error, and a link to each task\'s JSON',
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'how many tasks, newest first' }) }),
    },
  }, async (request, reply) => {
    const { limit } = request.query as { limit: number };
    const records = await store.recent(limit);
    const rows = await Promise.all(records.map(async (record): Promise<TaskRow> => {
      const row = { id: record.id, createdAt: record.created_at, finishedAt: record.finished_at };
      if (record.status !== 'pending') return { ...row, status: record.status, result: record.result, error: record.error };
      // a pending record may be running, or finished with its outcome not yet written: the queue knows
      const view = await readSumTask(ctx, store, record.id);
      return { ...row, status: view?.status ?? 'pending', result: view?.result ?? null, error: view?.error ?? null };
    }));
    return sendPage(reply, 200, 'Compute tasks', tasksPage(rows, limit));
  });
}

async function waitForSum(ctx: AppContext, id: string) {
  try {
    return await ctx.queue.waitForFinish<SumJobData, SumJobResult>(id, ctx.config.syncTimeoutMs);
  } catch (error) {
    if (error instanceof TimeoutError) {
      throw new AppError('timeout', `the sum did not finish within ${ctx.config.syncTimeoutMs} ms; it goes on, read its result by task_id`, { task_id: id });
    }
    // The task was queued and goes on: whoever retries can read it rather than start another.
    if (error instanceof AppError) throw new AppError(error.code, error.message, { ...error.details, task_id: id });
    throw error;
  }
}
