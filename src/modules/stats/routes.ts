// The stats HTTP surface: simulated API endpoints, the reset, and test traffic runs (the reports: report-routes.ts).
import type { AddressInfo } from 'node:net';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, TimeoutError } from '../../errors.js';
import { TaskOptionFields, splitTaskOptions } from '../../http/task-options.js';
import { countedPath } from './counted-path.js';
import { TRAFFIC_JOB, type TrafficJobData } from './jobs.js';
import { loopbackBaseUrl } from './loopback.js';
import { reportRoutes } from './report-routes.js';
import { exportRoute } from './export-route.js';
import { MAX_TRAFFIC_REQUESTS, type TrafficSummary } from './traffic.js';

const TrafficParams = Type.Object({ n: Type.Integer({ minimum: 1, maximum: MAX_TRAFFIC_REQUESTS, description: 'how many GET requests to send' }) });
// The run takes no body: when and how it runs are query parameters, beside `wait`.
const TrafficQuery = Type.Object(
  { wait: Type.Optional(Type.Boolean({ default: false, description: 'answer with the summary once the run is done' })), ...TaskOptionFields },
  { additionalProperties: false },
);

/** The data a schedule gives stats.traffic: how many requests (it sends them to the API that took the schedule). */
export const TrafficScheduleData = Type.Object({ n: TrafficParams.properties.n }, { additionalProperties: false });
const TrafficSummarySchema = Type.Object({
  task_id: Type.String(),
  n: Type.Integer(),
  ok: Type.Integer(),
  failed: Type.Integer(),
  duration_ms: Type.Integer(),
  requests_per_second: Type.Number(),
  segments: Type.Array(Type.String()),
  first_error: Type.Optional(Type.String()),
});

/** How long `?wait=true` holds the request: long enough for a million requests on a slow machine. */
const WAIT_LIMIT_MS = 15 * 60_000;

export function statsRoutes(app: App, ctx: AppContext): void {
  app.get('/api/*', {
    schema: {
      tags: ['stats'],
      summary: 'A simulated API endpoint: any path under /api/ answers with itself (counted like every request)',
      response: { 200: Type.Object({ path: Type.String() }) },
    },
  }, async (request) => ({ path: countedPath(request.url) }));

  // Every other method is refused before the body is read: there is nothing to send a body to.
  app.route({
    method: app.supportedMethods.filter((method) => method !== 'GET' && method !== 'HEAD'),
    url: '/api/*',
    schema: { hide: true },
    onRequest: async (request, reply) => {
      reply.header('allow', 'GET, HEAD');
      throw new AppError('method_not_allowed', `${request.method} is not allowed on ${countedPath(request.url)}: the simulated API answers GET only`);
    },
    handler: async () => {},
  });

  reportRoutes(app, ctx);
  exportRoute(app, ctx);

  app.delete('/stats/', {
    preHandler: ctx.requireAdmin,
    schema: {
      tags: ['stats'],
      summary: 'Reset every count (for test runs)',
      security: [{ apiKey: [] }],
      response: { 204: Type.Null({ description: 'reset' }), 401: ErrorReply, 503: ErrorReply },
    },
  }, async (_request, reply) => {
    await ctx.counters.reset();
    return reply.status(204).send(null);
  });

  app.post('/test/:n/', {
    // a test run sends up to a million requests: an admin action, like the reset
    preHandler: ctx.requireAdmin,
    schema: {
      tags: ['stats'],
      summary: 'Start a test run of n GET requests to /api/… of this server; ?wait=true answers with the summary',
      description: 'Query parameters run_at or run_in_ms, priority, timeout_ms, key and key_mode say when and how the run\'s task runs (see the Queue section of the README).',
      security: [{ apiKey: [] }],
      params: TrafficParams,
      querystring: TrafficQuery,
      response: { 200: TrafficSummarySchema, 202: Type.Object({ task_id: Type.String() }), 400: ErrorReply, 401: ErrorReply, 409: ErrorReply, 504: ErrorReply },
    },
  }, async (request, reply) => {
    const baseUrl = loopbackBaseUrl(request.server.server.address() as AddressInfo | string | null);
    const { options, rest } = splitTaskOptions(request.query);
    const job = await ctx.queue.enqueue<TrafficJobData>(TRAFFIC_JOB, { n: request.params.n, baseUrl }, options);
    if (!rest.wait) return reply.status(202).send({ task_id: job.id });
    let finished;
    try {
      finished = await ctx.queue.waitForFinish<TrafficJobData, TrafficSummary>(job.id, WAIT_LIMIT_MS);
    } catch (error) {
      if (error instanceof TimeoutError) throw new AppError('timeout', 'the run goes on; follow it at /tasks/' + job.id, { task_id: job.id });
      throw error;
    }
    if (finished.state === 'completed' && finished.result) return { task_id: job.id, ...finished.result };
    if (finished.state === 'cancelled') throw new AppError('conflict', finished.startedAt === null ? 'the run was cancelled before it started' : 'the run was cancelled while it ran', { task_id: job.id });
    throw new AppError('internal_error', `the run failed: ${finished.error ?? 'unknown error'}`, { task_id: job.id });
  });
}
