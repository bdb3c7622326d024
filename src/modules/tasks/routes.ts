// The task API: any queued job by id, its live events, and cancelling one that has not started.
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, notFound } from '../../errors.js';
import { FINAL_STATES, type JobEvent } from '../../infra/queue/contract.js';
import { TaskSchema, taskView } from './task-view.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const ErrorSchema = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }) });

export function taskRoutes(app: App, ctx: AppContext) {
  // Open event streams never end by themselves; shutdown ends them so that app.close() does not wait on them.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...openStreams]) end();
  });

  app.get('/tasks/:id', {
    schema: { tags: ['tasks'], summary: 'A task (queued job) by id', params: Params, response: { 200: TaskSchema, 404: ErrorSchema } },
  }, async (request) => {
    const job = await ctx.queue.getJob(request.params.id);
    if (!job) throw notFound(`task ${request.params.id}`);
    return taskView(job);
  });

  app.get('/tasks/:id/events', {
    schema: { tags: ['tasks'], summary: 'Server-sent events of a task until it ends (progress, completed, failed, cancelled)', params: Params },
  }, async (request, reply) => {
    const { id } = request.params;
    const job = await ctx.queue.getJob(id);
    if (!job) throw notFound(`task ${id}`);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // HEAD gets the head only: Node drops the events' bytes, so the head would never be flushed.
    if (request.method === 'HEAD') return void raw.end();
    const send = (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('task', taskView(job));
    if (FINAL_STATES.has(job.state)) return void raw.end();

    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    const finish = () => {
      clearInterval(heartbeat);
      unsubscribe();
      openStreams.delete(finish);
      raw.end();
    };
    openStreams.add(finish);
    const unsubscribe = ctx.queue.subscribe(id, (event: JobEvent) => {
      send(event.type, event);
      if (event.type === 'completed' || event.type === 'cancelled' || (event.type === 'failed' && !event.willRetry)) {
        ctx.queue.getJob(id).then((latest) => latest && send('task', taskView(latest))).catch(() => {}).finally(finish);
      }
    });
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      openStreams.delete(finish);
    });
    // The job may have ended between the first read and the subscription.
    const again = await ctx.queue.getJob(id).catch(() => null);
    if (again && FINAL_STATES.has(again.state)) {
      send('task', taskView(again));
      finish();
    }
  });

  app.delete('/tasks/:id', {
    preHandler: ctx.requireAdmin,
    schema: { tags: ['tasks'], summary: 'Cancel a task that has not started (409 if running or done)', params: Params, response: { 200: TaskSchema, 404: ErrorSchema, 409: ErrorSchema } },
  }, async (request) => {
    const outcome = await ctx.queue.cancel(request.params.id);
    if (outcome === 'not_found') throw notFound(`task ${request.params.id}`);
    if (outcome === 'not_cancellable') throw new AppError('conflict', 'the task is already running or finished; only a queued task can be cancelled');
    return taskView((await ctx.queue.getJob(request.params.id))!);
  });
}
