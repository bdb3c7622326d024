// stats: counts every request by URL path (all-time, per minute/hour/day, unique visitors),
// reports the counts sorted or as time series, generates test traffic.
import type { WorkyardModule } from '../../app-context.js';
import { countEveryRequest } from './count-hook.js';
import { TRAFFIC_JOB, statsJobs } from './jobs.js';
import { loopbackBaseUrl } from './loopback.js';
import { TrafficScheduleData, statsRoutes } from './routes.js';
import { VisitorIds } from './visitor-ids.js';

export const statsModule: WorkyardModule = {
  name: 'stats',
  schedulable: [
    {
      name: TRAFFIC_JOB,
      summary: 'sends n GET requests to /api/… of the API that took the schedule (as POST /test/{n}/)',
      data: TrafficScheduleData,
      prepare: (data: { n: number }, request) => ({ data: { n: data.n, baseUrl: loopbackBaseUrl(request.server.server.address()) } }),
    },
  ],
  create: (ctx) => {
    const visitors = new VisitorIds(ctx.counters, ctx.log);
    return {
      rootHooks: (app) => {
        void visitors.start();
        countEveryRequest(app, ctx, visitors);
      },
      routes: (app) => statsRoutes(app, ctx),
      jobs: (queue) => statsJobs(queue, ctx),
      close: async () => visitors.close(),
    };
  },
};
