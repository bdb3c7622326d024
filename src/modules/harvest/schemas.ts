// How harvest tasks and images look to API clients: snake_case fields, ISO-8601 times.
import { Type } from 'typebox';
import type { TaskImageRow, TaskPageRow, TaskRow } from './store.js';
import { PageMetadataSchema } from './text-routes.js';
import { IMAGE_FORMATS } from './image-filters.js';

const Status = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]);
const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

const taskFields = {
  id: Type.String(),
  url: Type.String(),
  status: Status,
  error: Type.Union([Type.String(), Type.Null()]),
  created_at: Time,
  started_at: NullableTime,
  finished_at: NullableTime,
};

export const ImagesTaskSchema = Type.Object({
  ...taskFields,
  images_count: Type.Integer({ description: 'images stored for this task' }),
  images_failed: Type.Integer({ description: 'images found but not stored (see each image’s error)' }),
});

export const TextTaskSchema = Type.Object({
  ...taskFields,
  text_length: Type.Union([Type.Integer(), Type.Null()], { description: 'characters of text collected, once done' }),
  main_length: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'GET of one task, once done: characters of the main text (null: the page has no article-like part)' })),
  metadata: Type.Optional(PageMetadataSchema),
});

export const TaskImageSchema = Type.Object({
  id: Type.String(),
  src: Type.String({ description: 'the absolute URL (or data: URL) the page named' }),
  page_url: Type.Union([Type.String(), Type.Null()], { description: 'the page it was found on: the task\'s own, or one its crawl reached (max_pages); null for images found before pages were recorded' }),
  content_type: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()]),
  format: Type.Union([Type.String(), Type.Null()], { description: 'read from the bytes: png, jpg, gif, webp, svg, avif, ico, …' }),
  width: Type.Union([Type.Integer(), Type.Null()], { description: 'pixels, read from the bytes (null: not stored, or a format without one)' }),
  height: Type.Union([Type.Integer(), Type.Null()]),
  href: Type.Union([Type.String(), Type.Null()], { description: 'where this API serves the bytes; null when not stored' }),
  thumbnail: Type.Union([Type.String(), Type.Null()], { description: 'where this API serves a WebP thumbnail, longest side 256 px; null when not stored' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the image was not stored; null when it was' }),
});

export const AcceptedSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')], {
    description: 'queued for a new task; with a key another task holds (key_mode keep, or one not yet started), that task\'s id and status',
  }),
});

/** The data a schedule gives harvest.text and harvest.images: the page, as the routes take it. */
export const HarvestScheduleData = Type.Object(
  { url: Type.String({ minLength: 1, maxLength: 4096, description: 'the page to harvest: an absolute http:// or https:// URL' }) },
  { additionalProperties: false },
);

/** How far a task crawls from its page: same-site links, breadth first (README, Harvest). */
export const CrawlFields = {
  max_pages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000, description: 'pages harvested at most, the task\'s own included (default 1: the page alone); more follow links to the same site (registrable domain)' })),
  max_depth: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, description: 'links followed at most from the task\'s page (default 3, when max_pages is over 1)' })),
};

export const DEFAULT_CRAWL_DEPTH = 3;

/** How a task's pages are loaded (README, Harvest: pages that need a browser). */
export const RenderField = {
  render: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('browser')], { description: 'http (default): the page as served; browser: loaded in headless Chromium, its scripts run, every request it makes through the SSRF guard' })),
};

export const TaskPageSchema = Type.Object({
  position: Type.Integer({ description: 'in the order fetched; 0 is the task\'s own page' }),
  url: Type.String({ description: 'the page, after redirects' }),
  depth: Type.Integer({ description: 'links away from the task\'s page' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the page was not harvested; null when it was' }),
  title: Type.Union([Type.String(), Type.Null()], { description: 'text tasks: the page\'s title' }),
  text_length: Type.Union([Type.Integer(), Type.Null()], { description: 'text tasks: characters of the page\'s text' }),
  images_found: Type.Union([Type.Integer(), Type.Null()], { description: 'images tasks: images the page declares (each is stored once per task, with the first page that declared it)' }),
});

/** An images task's filters: which of the images it finds are its own (README, Harvest). */
export const ImageFilterFields = {
  min_width: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'images narrower than this (in px, read from their bytes) are not the task\'s' })),
  min_height: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'images lower than this are not the task\'s' })),
  all: Type.Optional(Type.Boolean({ description: 'every candidate of a srcset (and its src); by default the largest stands for the image' })),
  max_age: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 * 365 * 86_400, description: 'seconds: a stored image fetched longer ago is asked for again (If-None-Match / If-Modified-Since; a 304 keeps it)' })),
  budget_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'how long the task\'s image downloads may go on; past it, no more are started' })),
  budget_bytes: Type.Optional(Type.Integer({ minimum: 1, description: 'how many bytes of images the task may download; past it, no more are started' })),
  types: Type.Optional(Type.Array(Type.Union(IMAGE_FORMATS.map((format) => Type.Literal(format))), { minItems: 1, uniqueItems: true, description: 'formats the task keeps, as read from the bytes' })),
};

const iso = (ms: number | null) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

function taskView(row: TaskRow) {
  return {
    id: row.id,
    url: row.url,
    status: row.status,
    error: row.error,
    created_at: iso(row.created_at)!,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
  };
}

export const imagesTaskView = (row: TaskRow) => ({ ...taskView(row), images_count: row.collected, images_failed: row.failed });

export const textTaskView = (row: TaskRow) => ({ ...taskView(row), text_length: row.status === 'done' ? row.collected : null });

export function taskImageView(taskId: string, row: TaskImageRow) {
  const stored = row.error === null;
  return {
    id: row.id,
    src: row.source_url,
    page_url: row.page_url ?? null,
    content_type: stored ? row.content_type : null,
    size: stored && row.size !== null ? Number(row.size) : null,
    sha256: stored ? row.sha256 : null,
    format: stored ? (row.format ?? null) : null,
    width: stored ? (row.width ?? null) : null,
    height: stored ? (row.height ?? null) : null,
    href: stored ? `/images_tasks/${taskId}/images/${row.id}` : null,
    thumbnail: stored ? `/images_tasks/${taskId}/images/${row.id}/thumbnail` : null,
    error: row.error,
  };
}

export function taskPageView(row: TaskPageRow) {
  return { position: row.position, url: row.url, depth: row.depth, error: row.error, title: row.title, text_length: row.text_length, images_found: row.images_found };
}
