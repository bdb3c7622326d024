// stats: counts every request by URL path, reports the counts sorted, generates test traffic.
import type { WorkyardModule } from '../../app-context.js';
import { countEveryRequest } from './count-hook.js';
import { TRAFFIC_JOB, statsJobs } from './jobs.js';
import { loopbackBaseUrl } from './loopback.js';
import { TrafficScheduleData, statsRoutes } from './routes.js';

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
  create: (ctx) => ({
    rootHooks: (app) => countEveryRequest(app, ctx),
    routes: (app) => statsRoutes(app, ctx),
    jobs: (queue) => statsJobs(queue),
  }),
};
