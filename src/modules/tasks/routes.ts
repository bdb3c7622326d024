// The task API: any queued job by id, its log, its live events, and cancelling it (queued or running).
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, notFound } from '../../errors.js';
import { eventStreams } from '../../http/sse.js';
import { FINAL_STATES, type JobEvent } from '../../infra/queue/contract.js';
import { TaskSchema, taskView } from './task-view.js';
import { TaskLogsSchema, eventView, logLineView } from './task-logs.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export function taskRoutes(app: App, ctx: AppContext) {
  const streams = eventStreams(app);

  app.get('/tasks/:id', {
    schema: { tags: ['tasks'], summary: 'A task (queued job) by id', params: Params, response: { 200: TaskSchema, 404: ErrorReply } },
  }, async (request) => {
    const job = await ctx.queue.getJob(request.params.id);
    if (!job) throw notFound(`task ${request.params.id}`);
    return taskView(job);
  });

  app.get('/tasks/:id/logs', {
    schema: { tags: ['tasks'], summary: 'The lines a task\'s handler logged, oldest first', params: Params, response: { 200: TaskLogsSchema, 404: ErrorReply } },
  }, async (request) => {
    const lines = await ctx.queue.getLogs(request.params.id);
    if (!lines) throw notFound(`task ${request.params.id}`);
    return { logs: lines.map(logLineView) };
  });

  app.get('/tasks/:id/events', {
    schema: { tags: ['tasks'], summary: 'Server-sent events of a task until it ends (active, progress, log, failed with a retry, then completed, failed or cancelled)', params: Params },
  }, async (request, reply) => {
    const { id } = request.params;
    const job = await ctx.queue.getJob(id);
    if (!job) throw notFound(`task ${id}`);
    let unsubscribe = () => {};
    const stream = streams.open(request, reply, { onEnd: () => unsubscribe() });
    if (!stream) return;
    stream.send('task', taskView(job));
    if (FINAL_STATES.has(job.state)) return stream.end();
    unsubscribe = ctx.queue.subscribe(id, (event: JobEvent) => {
      stream.send(event.type, eventView(event));
      if (event.type === 'completed' || event.type === 'cancelled' || (event.type === 'failed' && !event.willRetry)) {
        ctx.queue.getJob(id).then((latest) => latest && stream.send('task', taskView(latest))).catch(() => {}).finally(stream.end);
      }
    });
    // The job may have ended between the first read and the subscription.
    const again = await ctx.queue.getJob(id).catch(() => null);
    if (again && FINAL_STATES.has(again.state)) {
      stream.send('task', taskView(again));
      stream.end();
    }
  });

  app.delete('/tasks/:id', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags: ['tasks'],
      summary: 'Cancel a task: a queued or delayed one at once (200), a running one wherever it runs (202: its run is asked to stop and it ends cancelled, not retried); 409 once finished',
      params: Params,
      response: { 200: TaskSchema, 202: TaskSchema, 404: ErrorReply, 409: ErrorReply },
    },
  }, async (request, reply) => {
    const outcome = await ctx.queue.cancel(request.params.id);
    if (outcome === 'not_found') throw notFound(`task ${request.params.id}`);
    if (outcome === 'not_cancellable') throw new AppError('conflict', 'the task has already finished');
    const job = await ctx.queue.getJob(request.params.id);
    if (!job) throw notFound(`task ${request.params.id}`);
    return reply.status(outcome === 'cancelling' ? 202 : 200).send(taskView(job));
  });
}
