// compute: sum tasks answered synchronously (/sync/sum) or by id (/async/*), computed by workers.
import type { ModuleInstance, WorkyardModule } from '../../app-context.js';
import { SUM_JOB, computeJobs } from './jobs.js';
import { computeRoutes } from './routes.js';
import { computeMigrations } from './migrations.js';
import { SumScheduleData } from './schemas.js';
import { ComputeTaskStore } from './store.js';
import { SUM_JOB_OPTIONS, sumJobData } from './sum-tasks.js';
import type { TaskPruner } from './task-pruning.js';

export interface ComputeInstance extends ModuleInstance {
  /** one store per app, shared by routes and jobs so that their writes batch together */
  store: ComputeTaskStore;
}

export const computeModule: WorkyardModule<ComputeInstance> = {
  name: 'compute',
  migrations: computeMigrations,
  // A scheduled sum has no pending record: its outcome is recorded when it runs, and until then
  // /async/get_task_result reads it from the queue.
  schedulable: [{ name: SUM_JOB, summary: 'adds the numbers (as /async/post_task)', data: SumScheduleData, prepare: (data) => ({ data: sumJobData(data), options: SUM_JOB_OPTIONS }) }],
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
