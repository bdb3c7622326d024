// compute: sum tasks answered synchronously (/sync/sum) or by id (/async/*), computed by workers.
import type { ModuleInstance, WorkyardModule } from '../../app-context.js';
import { computeJobs } from './jobs.js';
import { computeRoutes } from './routes.js';
import { computeMigrations } from './migrations.js';
import { ComputeTaskStore } from './store.js';
import type { TaskPruner } from './task-pruning.js';

export interface ComputeInstance extends ModuleInstance {
  /** one store per app, shared by routes and jobs so that their writes batch together */
  store: ComputeTaskStore;
}

export const computeModule: WorkyardModule<ComputeInstance> = {
  name: 'compute',
  migrations: computeMigrations,
  create(ctx) {
    const store = new ComputeTaskStore(ctx.database);
    let pruner: TaskPruner | undefined;
    return {
      store,
      routes: (app) => computeRoutes(app, ctx, store),
      jobs: (queue) => void (pruner = computeJobs(queue, ctx, store)),
      close: async () => pruner?.stop(),
    };
  },
};
