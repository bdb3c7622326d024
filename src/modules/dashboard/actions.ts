// The dashboard's buttons: retry a failed task (or every failed task of a name), cancel a waiting
// or running one, pause and resume a job name. Operator-only and CSRF-checked; each calls the
// queue contract, so they work alike on every driver. After an action the open pages are told at
// once (LiveStreams.refresh), rather than at their next tick.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply } from '../../errors.js';
import { CSRF_HEADER, requireCsrfToken } from './csrf.js';

export const ACTIONS_PATH = '/dashboard/actions';

const TaskParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });
// The rule of assertJobName (contract.ts), so that a bad name is a 400 naming `name`.
const NameParams = Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'a job name' }) });
const TaskOutcome = Type.Object({ id: Type.String(), outcome: Type.String() });
const QueueState = Type.Object({ name: Type.String(), paused: Type.Boolean() });
const Retried = Type.Object({ name: Type.String(), retried: Type.Integer() });

const CsrfHeaders = Type.Object({ [CSRF_HEADER]: Type.Optional(Type.String({ description: 'the token of the dashboard page (its <meta name="csrf-token">)' })) });
const errors = { 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply, 503: ErrorReply };
const security = [{ apiKey: [] }];

export function registerDashboardActions(
  app: App,
  ctx: AppContext,
  requireOperator: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
  onChange: () => void,
): void {
  // The key and the token are checked before the parameters (preValidation): a caller without them
  // learns nothing about what it sent, only that it may not.
  const preValidation = [requireOperator, requireCsrfToken(app)];
  const schema = <Params extends TSchema, Ok extends Record<number, TSchema>>(summary: string, params: Params, ok: Ok) => ({
    tags: ['dashboard'],
    summary,
    params,
    headers: CsrfHeaders,
    security,
    response: { ...ok, ...errors },
  });

  app.post(`${ACTIONS_PATH}/tasks/:id/retry`, {
    preValidation,
    schema: schema('Dashboard button: queue a failed task again (fresh attempts, same id); 409 if it is not failed', TaskParams, { 200: TaskOutcome }),
  }, async (request) => {
    const { id } = request.params;
    const outcome = await ctx.queue.retry(id);
    if (outcome === 'not_found') throw new AppError('not_found', `no task ${id}`);
    if (outcome === 'not_failed') throw new AppError('conflict', `task ${id} is not failed: only a failed task can be retried`);
    onChange();
    return { id, outcome };
  });

  app.post(`${ACTIONS_PATH}/tasks/:id/cancel`, {
    preValidation,
    schema: schema('Dashboard button: cancel a queued or delayed task (200), or a running one (202: it ends cancelled); 409 once finished', TaskParams, {
      200: TaskOutcome,
      202: TaskOutcome,
    }),
  }, async (request, reply) => {
    const { id } = request.params;
    const outcome = await ctx.queue.cancel(id);
    if (outcome === 'not_found') throw new AppError('not_found', `no task ${id}`);
    if (outcome === 'not_cancellable') throw new AppError('conflict', `task ${id} has finished: it cannot be cancelled`);
    onChange();
    return reply.status(outcome === 'cancelling' ? 202 : 200).send({ id, outcome });
  });

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    app.post(`${ACTIONS_PATH}/queues/:name/${action}`, {
      preValidation,
      schema: schema(
        paused ? 'Dashboard button: no new run of this job name starts on any worker until resumed' : 'Dashboard button: runs of this job name start again',
        NameParams,
        { 200: QueueState },
      ),
    }, async (request) => {
      const { name } = request.params;
      await (paused ? ctx.queue.pause(name) : ctx.queue.resume(name));
      onChange();
      return { name, paused };
    });
  }

  app.post(`${ACTIONS_PATH}/queues/:name/retry-failed`, {
    preValidation,
    schema: schema('Dashboard button: queue every failed task of this job name again', NameParams, { 200: Retried }),
  }, async (request) => {
    const { name } = request.params;
    const retried = await ctx.queue.retryFailed({ name });
    if (retried > 0) onChange();
    return { name, retried };
  });
}
