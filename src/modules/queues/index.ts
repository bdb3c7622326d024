// Queues: per job name, what an operator reads first (counts, waits, throughput) and the pause
// switch. A module of its own: it is about job names, where the task API is about one task.
import type { WorkyardModule } from '../../app-context.js';
import { queueRoutes } from './routes.js';

export const queuesModule: WorkyardModule = { name: 'queues', create: (ctx) => ({ routes: (app) => queueRoutes(app, ctx) }) };
