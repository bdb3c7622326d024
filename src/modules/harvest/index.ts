// The harvest module: tasks that fetch a web page and collect its visible text or its images,
// deduplicated by source URL and by content, behind an SSRF guard and robots.txt.
import type { ModuleInstance, WorkyardModule } from '../../app-context.js';
import { createRequire } from 'node:module';
import { type HarvestOptions, Harvester } from './harvester.js';
import { registerHarvestJobs } from './jobs.js';
import { harvestMigrations } from './migrations.js';
import { harvestRoutes } from './routes.js';

export type { HarvestOptions } from './harvester.js';

// The version comes from package.json (three levels up from src/ and dist/ alike), not from
// app.ts: app.ts imports the module list, so importing it back here would make a cycle that
// breaks whenever this file happens to be loaded first.
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

export const harvestUserAgent = () => `Workyard/${version} (+harvest)`;

export function createHarvestModule(options: HarvestOptions = {}): WorkyardModule {
  return {
    name: 'harvest',
    migrations: harvestMigrations,
    create(ctx): ModuleInstance {
      // Only processes that run workers fetch pages, so only they hold an agent.
      let harvester: Harvester | undefined;
      return {
        routes: (app) => harvestRoutes(app, ctx),
        jobs(queue) {
          harvester = new Harvester({ database: ctx.database, config: ctx.config.harvest, blobs: ctx.blobs, userAgent: harvestUserAgent() }, options);
          registerHarvestJobs(queue, harvester, ctx.database, ctx.log, options.jobConcurrency ?? 4);
        },
        close: async () => harvester?.close(),
      };
    },
  };
}

export const harvestModule = createHarvestModule();
