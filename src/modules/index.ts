// Every module Workyard runs, in the order their routes are registered.
import type { WorkyardModule } from '../app-context.js';
import { blobsModule } from './blobs/index.js';
import { computeModule } from './compute/index.js';
import { dashboardModule } from './dashboard/index.js';
import { feedbackModule } from './feedback/index.js';
import { harvestModule } from './harvest/index.js';
import { queuesModule } from './queues/index.js';
import { schedulesModule } from './schedules/index.js';
import { statsModule } from './stats/index.js';
import { tasksModule } from './tasks/index.js';
import { webhooksModule } from './webhooks/index.js';

export const modules: WorkyardModule[] = [tasksModule, dashboardModule, feedbackModule, computeModule, harvestModule, blobsModule, statsModule, schedulesModule, queuesModule, webhooksModule];
