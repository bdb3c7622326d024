// compute: sum tasks answered synchronously (/sync/sum) or by id (/async/*), computed by workers.
import type { WorkyardModule } from '../../app-context.js';
import { computeJobs, stopComputeJobs } from './jobs.js';
import { computeRoutes } from './routes.js';
import { computeMigrations } from './store.js';

export const computeModule: WorkyardModule = {
  name: 'compute',
  migrations: computeMigrations,
  routes: computeRoutes,
  jobs: computeJobs,
  close: stopComputeJobs,
};
