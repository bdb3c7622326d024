// The webhooks module: endpoints admins register, and the delivery of every event recorded in the
// outbox (infra/events) to the endpoints that take it, signed per Standard Webhooks, retried for
// about a day.
import type { ModuleInstance, WorkyardModule } from '../../app-context.js';
import { registerWebhooksJobs } from './jobs.js';
import { webhooksMigrations } from './migrations.js';
import { webhooksRoutes } from './routes.js';
import { type WebhooksOptions, WebhooksService } from './service.js';

export type { WebhooksOptions };

export function createWebhooksModule(options: WebhooksOptions = {}): WorkyardModule {
  return {
    name: 'webhooks',
    migrations: webhooksMigrations,
    create(ctx): ModuleInstance {
      const service = new WebhooksService(ctx, options);
      service.watchInterest();
      return {
        routes: (app) => webhooksRoutes(app, ctx, service),
        jobs: (queue) => registerWebhooksJobs(queue, service, ctx),
        close: () => service.close(),
      };
    },
  };
}

export const webhooksModule = createWebhooksModule();
