// The harvest module: tasks that fetch a web page and collect its visible text or its images,
// deduplicated by source URL and by content, behind an SSRF guard and robots.txt.
import type { AppContext, WorkyardModule } from '../../app-context.js';
import { VERSION } from '../../app.js';
import type { BlobStore } from '../../infra/blobstore/contract.js';
import { type HarvestOptions, Harvester } from './harvester.js';
import { registerHarvestJobs } from './jobs.js';
import { harvestMigrations } from './migrations.js';
import { harvestRoutes } from './routes.js';

export type { HarvestOptions } from './harvester.js';

/** Read when a job or route is set up, never at import: app.ts imports this module. */
export const harvestUserAgent = () => `Workyard/${VERSION} (+harvest)`;

/**
 * The blob store comes with the blobs issue as `ctx.blobs`; until a context carries one, images
 * tasks fail with a clear error instead of the process failing to start.
 */
function blobStoreOf(ctx: AppContext, options: HarvestOptions): BlobStore | null {
  return options.blobs ?? (ctx as AppContext & { blobs?: BlobStore }).blobs ?? null;
}

export function createHarvestModule(options: HarvestOptions = {}): WorkyardModule {
  // One harvester per context: two Workyards in one process (tests) keep their own agents.
  const harvesters = new Set<Harvester>();
  return {
    name: 'harvest',
    migrations: harvestMigrations,
    routes: (app, ctx) => harvestRoutes(app, ctx, blobStoreOf(ctx, options)),
    jobs(queue, ctx) {
      const harvester = new Harvester(
        { database: ctx.database, config: ctx.config.harvest, blobs: blobStoreOf(ctx, options), userAgent: harvestUserAgent() },
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
