// GET /dashboard (the page), /dashboard/summary (the same figures as JSON), /dashboard/events (the
// live stream), the page's buttons (actions.ts) and its assets; bull-board at /admin/queues when
// the queue is BullMQ.
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, AppContext } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { wantsHtmlPage } from '../../http/client-kind.js';
import { eventStreams } from '../../http/sse.js';
import { registerDashboardActions } from './actions.js';
import { csrfTokenFor, registerDashboardCsrf } from './csrf.js';
import { LiveStreams } from './live-stream.js';
import { operatorAccess } from './operator-access.js';
import { DashboardData } from './summary.js';
import { summaryView, SummarySchema } from './summary-view.js';
import { dashboardJs } from './views/client-script.js';
import { ASSETS_PATH, renderKeyForm, renderPage } from './views/page.js';
import { renderPanels, renderStats } from './views/panels.js';
import { STATS_RANGES, type StatsRange, readTopPaths } from './panels/stats-panel.js';
import { dashboardCss } from './views/style.js';

const KeyQuery = Type.Object({ key: Type.Optional(Type.String({ description: 'WORKYARD_API_KEY, for browsers (sets a cookie)' })) });
const security = [{ apiKey: [] }];

export async function dashboardRoutes(app: App, ctx: AppContext): Promise<void> {
  const data = new DashboardData(ctx);
  const streams = new LiveStreams(eventStreams(app), data, ctx.queue);
  const requireOperator = operatorAccess(ctx);
  await registerDashboardCsrf(app);
  registerDashboardActions(app, ctx, requireOperator, () => streams.refresh());

  // A browser that lacks the key gets a form asking for it, rather than a JSON error.
  const requireOperatorPage = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await requireOperator(request, reply);
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'unauthorized') || !wantsHtmlPage(request)) throw error;
      return reply.status(401).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderKeyForm(error.message));
    }
  };

  app.get('/dashboard', {
    config: { htmlPage: true },
    preHandler: requireOperatorPage,
    schema: { tags: ['dashboard'], summary: 'Operator dashboard (HTML): queues, latest tasks, requests by path, blobs, harvests', querystring: KeyQuery, security },
  }, async (_request, reply) => {
    const summary = await data.read();
    const has = (url: string) => app.hasRoute({ method: 'GET', url });
    const links = [
      { href: '/docs', label: 'API docs' },
      { href: '/metrics', label: 'metrics' },
      { href: '/readyz', label: 'readiness' },
      ...(has('/feedback') ? [{ href: '/feedback', label: 'feedback' }] : []),
      ...(has('/admin/queues') ? [{ href: '/admin/queues', label: 'queue admin' }] : []),
    ];
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      // The URL may hold ?key=: no other site may see it in a Referer.
      .header('referrer-policy', 'no-referrer')
      .send(renderPage({ panels: renderPanels(summary), shape: ctx.shape, drivers: ctx.drivers, links, harvest: has('/images_tasks'), csrfToken: csrfTokenFor(app, reply) }));
  });

  app.get('/dashboard/summary', {
    preHandler: requireOperator,
    schema: { tags: ['dashboard'], summary: 'The dashboard figures as JSON; a panel whose source is missing or down says why', querystring: KeyQuery, security, response: { 200: SummarySchema } },
  }, async () => summaryView(await data.read()));

  // The request panel for another range than the live stream's (the page's range selector).
  app.get('/dashboard/panels/stats', {
    preHandler: requireOperator,
    schema: {
      tags: ['dashboard'],
      summary: 'The request panel (HTML) for a range: top paths and their chart over the last 24 h, 7 d, 30 d, or all time',
      querystring: Type.Object({ ...KeyQuery.properties, range: Type.Union(STATS_RANGES.map((range) => Type.Literal(range)), { default: 'all' }) }),
      security,
    },
  }, async (request, reply) => {
    const { range } = request.query as { range: StatsRange };
    const stats = await readTopPaths(ctx.counters, Date.now(), range);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderStats(stats).toString());
  });

  app.get('/dashboard/events', {
    preHandler: requireOperator,
    schema: { tags: ['dashboard'], summary: 'Server-sent events: the dashboard panels (HTML) that changed', querystring: KeyQuery, security },
  }, async (request, reply) => {
    streams.serve(request, reply);
  });

  // Assets hold no data, so they need no key (the key form uses the stylesheet too).
  app.get(`${ASSETS_PATH}/dashboard.css`, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(dashboardCss));
  app.get(`${ASSETS_PATH}/dashboard.js`, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(dashboardJs));

  // bull-board is loaded only for the BullMQ queue it shows
  if (ctx.queue.bullmq) await (await import('./bull-board.js')).mountBullBoard(app, ctx.queue.bullmq, requireOperator);
}
