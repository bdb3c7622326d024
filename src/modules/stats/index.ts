// stats: counts every request by URL path, reports the counts sorted, generates test traffic.
import type { WorkyardModule } from '../../app-context.js';
import { countEveryRequest } from './count-hook.js';
import { statsJobs } from './jobs.js';
import { statsRoutes } from './routes.js';

export const statsModule: WorkyardModule = {
  name: 'stats',
  create: (ctx) => ({
    rootHooks: (app) => countEveryRequest(app, ctx),
    routes: (app) => statsRoutes(app, ctx),
    jobs: (queue) => statsJobs(queue),
  }),
};
