// The operator dashboard: queues, latest and failed tasks, requests by path, blobs and harvests on
// one page, live, with buttons to retry, cancel and pause; and bull-board when the queue runs on BullMQ.
import type { WorkyardModule } from '../../app-context.js';
import { dashboardRoutes } from './routes.js';

export const dashboardModule: WorkyardModule = { name: 'dashboard', create: (ctx) => ({ routes: (app) => dashboardRoutes(app, ctx) }) };
