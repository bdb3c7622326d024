// The harvest module: tasks that fetch a web page and collect its visible text or its images,
// deduplicated by source URL and by content, behind an SSRF guard and robots.txt.
import type { ModuleInstance, WorkyardModule } from '../../app-context.js';
import { createRequire } from 'node:module';
import { type HarvestOptions, Harvester } from './harvester.js';
import { IMAGES_JOB, TEXT_JOB, harvestWorkerOptions, registerHarvestJobs } from './jobs.js';
import { harvestMigrations } from './migrations.js';
import { harvestJobOptions, harvestRoutes, parsePageUrl } from './routes.js';
import { HarvestScheduleData } from './schemas.js';

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
    // Each fired job makes its own task (its id is the job's), harvested like one from the route.
    schedulable: [
      { name: TEXT_JOB, summary: 'collects the visible text of the page (as POST /text_tasks)', data: HarvestScheduleData, prepare: prepareScheduledHarvest },
      { name: IMAGES_JOB, summary: 'collects the images of the page (as POST /images_tasks)', data: HarvestScheduleData, prepare: prepareScheduledHarvest },
    ],
    create(ctx): ModuleInstance {
      // Only processes that run workers fetch pages, so only they hold an agent.
      let harvester: Harvester | undefined;
      return {
        routes: (app) => harvestRoutes(app, ctx),
        jobs(queue) {
          harvester = new Harvester({ database: ctx.database, config: ctx.config.harvest, blobs: ctx.blobs, userAgent: harvestUserAgent() }, options);
          registerHarvestJobs(queue, harvester, ctx.database, ctx.log, harvestWorkerOptions(options.jobConcurrency ?? 4, ctx.config.harvest), ctx.events);
        },
        close: async () => harvester?.close(),
      };
    },
  };
}

function prepareScheduledHarvest(data: { url: string }) {
  const url = parsePageUrl(data.url);
  return { data: { url }, options: harvestJobOptions(url) };
}

export const harvestModule = createHarvestModule();
