// The feedback module: two web forms whose submissions land in SQL, one saved in the request and
// one queued and saved by a worker, listed on a page. Also serves the home page.
import type { WorkyardModule } from '../../app-context.js';
import { registerFeedbackJobs, stopFeedbackJobs } from './jobs.js';
import { feedbackRoutes } from './routes.js';
import { type FeedbackOptions, feedbackServiceFor } from './service.js';
import { feedbackMigrations } from './store.js';

export function createFeedbackModule(options: FeedbackOptions = {}): WorkyardModule {
  return {
    name: 'feedback',
    migrations: feedbackMigrations,
    routes: (app, ctx) => feedbackRoutes(app, feedbackServiceFor(ctx, options)),
    jobs: (queue, ctx) => registerFeedbackJobs(queue, feedbackServiceFor(ctx, options), ctx),
    close: stopFeedbackJobs,
  };
}

export const feedbackModule = createFeedbackModule();
