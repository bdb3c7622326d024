// The HTTP surface: /images_tasks and /text_tasks (create, list, get), a task's images and their
// bytes, and a text task's text.
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, notFound, validationError } from '../../errors.js';
import { withTables } from '../../infra/db/database.js';
import { TaskOptionFields, splitTaskOptions } from '../../http/task-options.js';
import { callDependency } from '../../infra/dependency-errors.js';
import type { EnqueueOptions } from '../../infra/queue/contract.js';
import { HARVEST_JOB_ATTEMPTS, HARVEST_JOB_BACKOFF_MS, IMAGES_JOB, TEXT_JOB, groupOfUrl } from './jobs.js';
import { imageRange } from './image-packs.js';
import * as store from './store.js';
import { type ImageFilters, hasFilters } from './image-filters.js';
import type { TaskBudget } from './task-budget.js';
import { metadataOf, textRoutes } from './text-routes.js';
import { archiveRoute } from './archive-route.js';
import { thumbnailRoute } from './thumbnail-route.js';
import { AcceptedSchema, CrawlFields, DEFAULT_CRAWL_DEPTH, RenderField, HarvestScheduleData, ImageFilterFields, ImagesTaskSchema, TaskImageSchema, TaskPageSchema, TextTaskSchema, imagesTaskView, taskImageView, taskPageView, textTaskView } from './schemas.js';
import type { CrawlLimits } from './site-crawl.js';
import { chromiumAvailable } from './page-renderer.js';

const CreateBody = Type.Object({ ...HarvestScheduleData.properties, ...CrawlFields, ...RenderField, ...TaskOptionFields }, { additionalProperties: false });
const ImagesCreateBody = Type.Object({ ...HarvestScheduleData.properties, ...CrawlFields, ...RenderField, ...ImageFilterFields, ...TaskOptionFields }, { additionalProperties: false });
const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});
const TaskParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const ImageParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), imageId: Type.String({ minLength: 1, maxLength: 100 }) });

// Images come from anywhere; served from our origin, an SVG must not be able to run script here.
const IMAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  // Content-addressed: the bytes behind an image id never change.
  'cache-control': 'private, max-age=86400, immutable',
};

export function parsePageUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw validationError('url', 'url must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw validationError('url', `url must use http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) throw validationError('url', 'url must not contain credentials');
  url.hash = '';
  return url.href;
}

/** What every harvest job is enqueued with: retries, and the page's host as its group (per-host limits). */
export function harvestJobOptions(url: string) {
  return { attempts: HARVEST_JOB_ATTEMPTS, backoffMs: HARVEST_JOB_BACKOFF_MS, group: groupOfUrl(url) };
}

export function harvestRoutes(app: App, ctx: AppContext): void {
  const { blobs } = ctx;
  const database = withTables<store.HarvestTables>(ctx.database);

  async function createTask(kind: store.TaskKind, rawUrl: string, options: EnqueueOptions, crawl: CrawlLimits | undefined, render: 'browser' | undefined, images: { filters?: ImageFilters; budget?: TaskBudget; maxAgeMs?: number; allCandidates?: boolean } = {}) {
    const { filters, budget, maxAgeMs, allCandidates } = images;
    const url = parsePageUrl(rawUrl);
    const id = randomUUID();
    await database.run((db) => store.insertTask(db, { id, kind, url, now: Date.now() }));
    let job;
    try {
      job = await ctx.queue.enqueue(kind === 'images' ? IMAGES_JOB : TEXT_JOB, { url, ...(hasFilters(filters) ? { filters } : {}), ...(budget?.ms !== undefined || budget?.bytes !== undefined ? { budget } : {}), ...(maxAgeMs !== undefined ? { maxAgeMs } : {}), ...(allCandidates ? { allCandidates } : {}), ...(crawl ? { crawl } : {}), ...(render ? { render } : {}) }, { ...options, ...harvestJobOptions(url), jobId: id });
    } catch (error) {
      // No job, no task: a task that would stay queued forever is worse than the 503.
      await database.run((db) => store.deleteTask(db, id)).catch(() => {});
      throw error;
    }
    if (job.id === id) return { id, status: 'queued' as const };
    // The key is held by another task (the job's id is its task's id): this one is not needed.
    await database.run((db) => store.deleteTask(db, id));
    // replace/debounce gave that task this URL: show it at once rather than once the job runs
    if (options.keyMode !== undefined && options.keyMode !== 'keep') await database.run((db) => store.putTask(db, { id: job.id, kind, url, now: Date.now() }));
    const held = await database.run((db) => store.getTask(db, kind, job.id));
    return { id: job.id, status: held?.status ?? ('queued' as const) };
  }

  /** The task, with the queue's word taken when the job was cancelled or given up on before the handler could say so. */
  async function currentTask(kind: store.TaskKind, id: string): Promise<store.TaskRow> {
    const row = await database.run((db) => store.getTask(db, kind, id));
    if (!row) throw notFound(`${kind} task ${id}`);
    if (row.status === 'done' || row.status === 'failed') return row;
    const job = await ctx.queue.getJob(id).catch(() => null);
    if (job?.state !== 'cancelled' && job?.state !== 'failed') return row;
    const error = job.state === 'cancelled' ? (job.startedAt === null ? 'cancelled before it ran' : 'cancelled while it ran') : (job.error ?? 'the job failed');
    await database.run((db) => store.failUnfinishedTask(db, id, error, job.finishedAt ?? Date.now()));
    return (await database.run((db) => store.getTask(db, kind, id)))!;
  }

  for (const kind of ['images', 'text'] as const) {
    const base = kind === 'images' ? '/images_tasks' : '/text_tasks';
    const TaskSchema = kind === 'images' ? ImagesTaskSchema : TextTaskSchema;
    const view: (row: store.TaskRow) => any = kind === 'images' ? imagesTaskView : textTaskView;
    const tags = ['harvest'];

    app.post(base, {
      schema: {
        tags,
        summary: kind === 'images' ? 'Collect the images of a web page' : 'Collect the visible text of a web page',
        description:
          'run_at or run_in_ms, priority, timeout_ms, key and key_mode say when and how the task runs (see the Queue section of the README). ' +
          'Tasks of one host run at most WORKYARD_HARVEST_HOST_CONCURRENCY at once (default 2) and start at most WORKYARD_HARVEST_HOST_RATE_MAX ' +
          'per WORKYARD_HARVEST_HOST_RATE_WINDOW_MS (default 10 a second), across every worker.',
        body: kind === 'images' ? ImagesCreateBody : CreateBody,
        response: { 202: AcceptedSchema, 400: ErrorReply, 503: ErrorReply },
      },
    }, async (request, reply) => {
      const { options, rest } = splitTaskOptions(request.body);
      const { url, min_width, min_height, types, budget_ms, budget_bytes, max_age, all, max_pages, max_depth, render } = rest as { url: string; budget_ms?: number; budget_bytes?: number; max_age?: number; all?: boolean; max_pages?: number; max_depth?: number; render?: 'http' | 'browser' } & ImageFilters;
      if (render === 'browser' && !chromiumAvailable(ctx.config.harvest.chromium)) {
        throw validationError('render', `render: "browser" needs Chromium, which this server does not have (WORKYARD_HARVEST_CHROMIUM${ctx.config.harvest.chromium ? ` names ${ctx.config.harvest.chromium}, which is not there` : ' is empty'}); use "http"`);
      }
      const crawl = max_pages !== undefined && max_pages > 1 ? { maxPages: max_pages, maxDepth: max_depth ?? DEFAULT_CRAWL_DEPTH } : undefined;
      const accepted = await createTask(kind, url, options, crawl, render === 'browser' ? 'browser' : undefined, {
        filters: { min_width, min_height, types },
        budget: { ms: budget_ms, bytes: budget_bytes },
        maxAgeMs: max_age === undefined ? undefined : max_age * 1000,
        allCandidates: all,
      });
      return reply.status(202).header('location', `${base}/${accepted.id}`).send(accepted);
    });

    app.get(base, {
      schema: { tags, summary: `${kind === 'images' ? 'Images' : 'Text'} tasks, newest first`, querystring: ListQuery, response: { 200: Type.Array(TaskSchema), 400: ErrorReply } },
    }, async (request) => {
      const rows = await database.run((db) => store.listTasks(db, kind, request.query.limit, request.query.offset));
      return rows.map(view);
    });

    app.get(`${base}/:id`, {
      schema: { tags, summary: `A ${kind} task${kind === 'text' ? ', with what the page says about itself once done' : ''}`, params: TaskParams, response: { 200: TaskSchema, 404: ErrorReply } },
    }, async (request) => {
      const row = await currentTask(kind, request.params.id);
      if (kind === 'images' || row.status !== 'done') return view(row);
      const text = await database.run((db) => store.getText(db, row.id));
      return { ...view(row), main_length: text?.main_text?.length ?? null, metadata: metadataOf(text) };
    });
  }

  for (const kind of ['images', 'text'] as const) {
    app.get(`/${kind}_tasks/:id/pages`, {
      schema: { tags: ['harvest'], summary: 'The pages the task harvested, in the order fetched (one unless it crawled: max_pages)', params: TaskParams, response: { 200: Type.Array(TaskPageSchema), 404: ErrorReply } },
    }, async (request) => {
      const { id } = request.params;
      if (!(await database.run((db) => store.getTask(db, kind, id)))) throw notFound(`${kind} task ${id}`);
      const rows = await database.run((db) => store.listPages(db, id));
      return rows.map(taskPageView);
    });
  }

  app.get('/images_tasks/:id/images', {
    schema: { tags: ['harvest'], summary: 'The images a task found, in page order (stored ones have an href)', params: TaskParams, response: { 200: Type.Array(TaskImageSchema), 404: ErrorReply } },
  }, async (request) => {
    const { id } = request.params;
    if (!(await database.run((db) => store.getTask(db, 'images', id)))) throw notFound(`images task ${id}`);
    const rows = await database.run((db) => store.listTaskImages(db, id));
    return rows.map((row) => taskImageView(id, row));
  });

  app.get('/images_tasks/:id/images/:imageId', {
    schema: { tags: ['harvest'], summary: 'The bytes of a stored image, with its content type', params: ImageParams, response: { 404: ErrorReply, 503: ErrorReply } },
  }, async (request, reply) => {
    const { id, imageId } = request.params;
    const image = await database.run((db) => store.taskImageBlob(db, id, imageId));
    if (!image) throw notFound(`image ${imageId} of images task ${id}`);
    const blob = await callDependency(blobs.driver, ctx.config.dependencyTimeoutMs, () => blobs.get(image.blob_key, imageRange(image)));
    if (!blob) throw notFound(`the stored bytes of image ${imageId}`);
    // The 200 answer is raw bytes, which the typed reply (built from the JSON schemas) cannot name;
    // its length is the image's, not its pack's.
    return reply.headers({ ...IMAGE_HEADERS, 'content-type': image.content_type, 'content-length': String(image.size) }).send(blob.body as never);
  });

  textRoutes(app, database, (id) => currentTask('text', id));
  archiveRoute(app, ctx, database);
  thumbnailRoute(app, ctx, database);
}
