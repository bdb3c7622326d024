// The job handlers workers run: harvest.images and harvest.text. A page that is refused or fails
// (HarvestError) fails its task with that message and fails the job with it at once: running it
// again would meet the same page. Only the database or the blob store being down (or a shutdown)
// makes the job throw a retryable error, so that the queue runs it again.
import type { FastifyBaseLogger } from 'fastify';
import { type Database, withTables } from '../../infra/db/database.js';
import type { EventOutbox } from '../../infra/events/contract.js';
import { JobCancelledError, type JobContext, type JobQueue, PermanentJobError, type WorkerOptions, errorMessage } from '../../infra/queue/contract.js';
import { HarvestError } from './errors.js';
import type { Harvester, PageLoading } from './harvester.js';
import * as store from './store.js';
import type { ImageFilters } from './image-filters.js';
import type { TaskBudget } from './task-budget.js';
import type { CrawlLimits } from './site-crawl.js';

export const IMAGES_JOB = 'harvest.images';
export const TEXT_JOB = 'harvest.text';
export const HARVEST_JOB_ATTEMPTS = 3;
export const HARVEST_JOB_BACKOFF_MS = 2_000;

/**
 * A job harvests the task whose id is the job's id, at `url`, making the task when it has none
 * yet (a scheduled job). Jobs queued before URLs were in the data name their task as `taskId`.
 */
export interface HarvestJobData {
  url?: string;
  taskId?: string;
  /** images tasks: which stored images are the task's (min_width, min_height, types) */
  filters?: ImageFilters;
  /** images tasks: how long and how many bytes its downloads may take */
  budget?: TaskBudget;
  /** images tasks: stored images fetched longer ago than this are asked for again */
  maxAgeMs?: number;
  /** images tasks: every srcset candidate, not only the largest */
  allCandidates?: boolean;
  /** pages and depth of the task's crawl; absent: the page alone */
  crawl?: CrawlLimits;
  /** 'browser': pages are rendered in headless Chromium; absent: fetched */
  render?: PageLoading;
}

/** How the harvest jobs are limited per host (one queue group per host, see groupOfUrl). */
export interface HarvestWorkerLimits {
  /** jobs running at once per host, across every worker process; 0: no limit */
  hostConcurrency: number;
  /** jobs started per window per host, across every worker process; max 0: no limit */
  hostRate: { max: number; windowMs: number };
}

/** The queue group of a harvest job: the page's host (with its port), so that the limits apply per server. */
export function groupOfUrl(url: string): string {
  return new URL(url).host;
}

export function harvestWorkerOptions(concurrency: number, limits: HarvestWorkerLimits): WorkerOptions {
  return {
    concurrency,
    ...(limits.hostConcurrency > 0 ? { groupConcurrency: limits.hostConcurrency } : {}),
    ...(limits.hostRate.max > 0 ? { groupRate: { ...limits.hostRate } } : {}),
  };
}

/** What a job that harvested its page returns; a page that could not be harvested fails the job. */
export interface HarvestJobResult {
  status: 'done';
  images_stored?: number;
  images_failed?: number;
  text_length?: number;
  /** characters of the main text (Readability); null when the page has no article-like part */
  main_length?: number | null;
  /** pages harvested (more than 1 when the task crawled) */
  pages?: number;
  /** render: browser — requests of the pages the SSRF guard refused, as "<url>: <reason>" */
  blocked_requests?: string[];
}

export function registerHarvestJobs(queue: JobQueue, harvester: Harvester, untyped: Database, log: FastifyBaseLogger, options: WorkerOptions, events?: EventOutbox): void {
  const database = withTables<store.HarvestTables>(untyped);
  queue.process<HarvestJobData, HarvestJobResult>(
    IMAGES_JOB,
    (job) =>
      runTask(job, 'images', database, log, events, async (taskId, url, signal) => {
        const outcome = await harvester.pageImages(taskId, url, signal, (line) => job.log(line), { filters: job.data.filters, budget: job.data.budget, maxAgeMs: job.data.maxAgeMs, allCandidates: job.data.allCandidates, crawl: job.data.crawl, render: job.data.render });
        await database.run((db) => store.savePages(db, taskId, outcome.pages));
        await job.log(`${outcome.stored} image${outcome.stored === 1 ? '' : 's'} stored, ${outcome.failed} failed`);
        for (const failure of outcome.failures) await job.log(`image failed: ${failure}`);
        if (outcome.failed > outcome.failures.length) await job.log(`and ${outcome.failed - outcome.failures.length} more images failed`);
        return { images_stored: outcome.stored, images_failed: outcome.failed, pages: outcome.pages.length, ...blockedOf(outcome.blocked) };
      }),
    options,
  );
  queue.process<HarvestJobData, HarvestJobResult>(
    TEXT_JOB,
    (job) =>
      runTask(job, 'text', database, log, events, async (taskId, url, signal) => {
        const { saved, pages, blocked } = await harvester.pageText(url, signal, (line) => job.log(line), job.data.crawl, job.data.render);
        await database.run((db) => store.saveText(db, taskId, saved));
        await database.run((db) => store.savePages(db, taskId, pages));
        await job.log(`text saved: ${saved.text.length} characters, ${saved.main === null ? 'no main text found' : `main text ${saved.main.length}`}`);
        return { text_length: saved.text.length, main_length: saved.main?.length ?? null, pages: pages.length, ...blockedOf(blocked) };
      }),
    options,
  );
}

const blockedOf = (blocked: string[]) => (blocked.length ? { blocked_requests: blocked } : {});

async function runTask(
  job: JobContext<HarvestJobData>,
  kind: store.TaskKind,
  database: Database<store.HarvestTables>,
  log: FastifyBaseLogger,
  events: EventOutbox | undefined,
  work: (taskId: string, url: string, signal: AbortSignal) => Promise<Partial<HarvestJobResult>>,
): Promise<HarvestJobResult> {
  const taskId = job.data.taskId ?? job.id;
  const { url } = job.data;
  if (url !== undefined) await database.run((db) => store.putTask(db, { id: taskId, kind, url, now: Date.now() }));
  const task = await database.run((db) => store.markTaskRunning(db, taskId, Date.now()));
  if (!task) throw new PermanentJobError(`harvest task ${taskId} no longer exists`);
  try {
    const result = await work(taskId, task.url, job.signal);
    await database.run((db) => store.finishTask(db, taskId, { status: 'done', error: null, now: Date.now() }));
    if (events?.wants('harvest.done')) await events.record([{ type: 'harvest.done', data: { id: taskId, kind, url: task.url, ...result } }]);
    return { status: 'done', ...result };
  } catch (error) {
    // Cancelled (DELETE /tasks/:id): the queue records it cancelled and never runs it again.
    if (job.signal.reason instanceof JobCancelledError) {
      await database.run((db) => store.finishTask(db, taskId, { status: 'failed', error: 'cancelled while it ran', now: Date.now() })).catch(() => {});
      throw error;
    }
    if (error instanceof HarvestError && error.failure !== 'aborted') {
      await database.run((db) => store.finishTask(db, taskId, { status: 'failed', error: error.message, now: Date.now() }));
      throw new PermanentJobError(error.message);
    }
    const message = errorMessage(error);
    const last = job.attempt >= HARVEST_JOB_ATTEMPTS;
    log.warn({ err: error, taskId, attempt: job.attempt }, last ? 'harvest task failed' : 'harvest task will be retried');
    await database
      .run((db) => store.finishTask(db, taskId, last ? { status: 'failed', error: message, now: Date.now() } : { status: 'queued', error: `will retry after: ${message}`, now: Date.now() }))
      .catch(() => {});
    throw error;
  }
}
