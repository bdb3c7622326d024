// The harvest module: tasks that fetch a web page and collect its visible text or its images,
// deduplicated by source URL and by content, behind an SSRF guard and robots.txt.
import type { WorkyardModule } from '../../app-context.js';
import { VERSION } from '../../app.js';
import { type HarvestOptions, Harvester } from './harvester.js';
import { registerHarvestJobs } from './jobs.js';
import { harvestMigrations } from './migrations.js';
import { harvestRoutes } from './routes.js';

export type { HarvestOptions } from './harvester.js';

/** Read when a job or route is set up, never at import: app.ts imports this module. */
export const harvestUserAgent = () => `Workyard/${VERSION} (+harvest)`;

export function createHarvestModule(options: HarvestOptions = {}): WorkyardModule {
  // One harvester per context: two Workyards in one process (tests) keep their own agents.
  const harvesters = new Set<Harvester>();
  return {
    name: 'harvest',
    migrations: harvestMigrations,
    routes: (app, ctx) => harvestRoutes(app, ctx),
    jobs(queue, ctx) {
      const harvester = new Harvester(
        { database: ctx.database, config: ctx.config.harvest, blobs: ctx.blobs, userAgent: harvestUserAgent() },
        options,
      );
      harvesters.add(harvester);
      registerHarvestJobs(queue, harvester, ctx.database, ctx.log, options.jobConcurrency ?? 4);
    },
    async close() {
      for (const harvester of harvesters) harvester.close();
      harvesters.clear();
    },
  };
}

export const harvestModule = createHarvestModule();
