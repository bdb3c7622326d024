// /queues: the overview of every job name, and pausing or resuming one (admins only: a pause
// holds back every worker, and the figures tell how busy the system is).
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, validationError } from '../../errors.js';
import { JOB_STATES, type JobState, type QueueOverview, assertJobName } from '../../infra/queue/contract.js';
import { QueueListSchema, QueueSchema, queueView } from './queue-view.js';

const tags = ['queues'];
const Params = Type.Object({ name: Type.String({ description: 'a job name: letters, digits, `.`, `_` and `-`, starting with a letter or digit' }) });

export function queueRoutes(app: App, ctx: AppContext): void {
  app.get('/queues', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Per job name: counts by state, paused or not, the oldest wait, wait percentiles and completions per minute over the last 5 minutes',
      security: [{ apiKey: [] }],
      response: { 200: QueueListSchema, 401: ErrorReply, 503: ErrorReply },
    },
  }, async () => ({ queues: (await ctx.queue.overview()).map(queueView) }));

  const overviewOf = async (name: string) => {
    const found = (await ctx.queue.overview()).find((overview) => overview.name === name);
    // a name resumed that has no jobs and no worker here is in no overview: it is idle
    const idle: QueueOverview = {
      name,
      counts: Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>,
      paused: false,
      oldestWaitingMs: null,
      waitMs: null,
      completionsPerMinute: 0,
    };
    return queueView(found ?? idle);
  };

  for (const action of ['pause', 'resume'] as const) {
    app.post(`/queues/:name/${action}`, {
      preValidation: ctx.requireAdmin,
      schema: {
        tags,
        summary:
          action === 'pause'
            ? 'Pause a job name: no new run starts on any worker (running ones finish, enqueues are taken); kept across restarts'
            : 'Resume a paused job name: its waiting jobs start again at once',
        security: [{ apiKey: [] }],
        params: Params,
        response: { 200: QueueSchema, 400: ErrorReply, 401: ErrorReply, 503: ErrorReply },
      },
    }, async (request) => {
      const { name } = request.params;
      try {
        assertJobName(name);
      } catch (error) {
        throw validationError('name', `name: ${(error as Error).message}`);
      }
      await ctx.queue[action](name);
      return overviewOf(name);
    });
  }
}
