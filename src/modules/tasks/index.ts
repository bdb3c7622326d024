// The task API: any queued job by id, its live events, and cancelling it (queued or running).
import type { WorkyardModule } from '../../app-context.js';
import { taskRoutes } from './routes.js';
import { operateRoutes } from './operate-routes.js';

export const tasksModule: WorkyardModule = {
  name: 'tasks',
  create: (ctx) => ({
    routes: (app) => {
      taskRoutes(app, ctx);
      operateRoutes(app, ctx);
    },
  }),
};
