import type { WorkyardModule } from '../../app-context.js';
import { taskRoutes } from './routes.js';

export const tasksModule: WorkyardModule = { name: 'tasks', routes: taskRoutes };
