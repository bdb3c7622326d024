// Schedules: recurring tasks of the jobs modules mark schedulable, kept by the queue (they survive
// restarts and fire once per due time across every worker process). A module of its own rather
// than part of the task API: schedules are a collection of their own (made, listed, deleted by
// id), with their own admin rules, and the task API stays about one task by id.
import type { WorkyardModule } from '../../app-context.js';
import { scheduleRoutes } from './routes.js';

export const schedulesModule: WorkyardModule = { name: 'schedules', create: (ctx) => ({ routes: (app) => scheduleRoutes(app, ctx) }) };
