// The feedback module: two web forms whose submissions land in SQL, one saved in the request and
// one queued and saved by a worker, listed on a page. Also serves the home page.
import type { ModuleInstance, WorkyardModule } from '../../app-context.js';
import type { IdempotencyKeyPruner } from './idempotency-pruning.js';
import { registerFeedbackJobs } from './jobs.js';
import { feedbackRoutes } from './routes.js';
import { feedbackMigrations } from './migrations.js';
import { type FeedbackOptions, FeedbackService } from './service.js';

export function createFeedbackModule(options: FeedbackOptions = {}): WorkyardModule {
  return {
    name: 'feedback',
    migrations: feedbackMigrations,
    create(ctx): ModuleInstance {
      // Routes and job handlers share one service, so that their writes join the same group commits.
      const service = new FeedbackService(ctx, options);
      let pruner: IdempotencyKeyPruner | undefined;
      return {
        routes: (app) => feedbackRoutes(app, service, ctx),
        jobs: (queue) => void (pruner = registerFeedbackJobs(queue, service, ctx)),
        close: async () => pruner?.stop(),
      };
    },
  };
}

export const feedbackModule = createFeedbackModule();
