// The job handlers workers run: harvest.images and harvest.text. A page that is refused or fails
// (HarvestError) fails its task with that message and fails the job with it at once: running it
// again would meet the same page. Only the database or the blob store being down (or a shutdown)
// makes the job throw a retryable error, so that the queue runs it again.
import type { FastifyBaseLogger } from 'fastify';
import { type Database, withTables } from '../../infra/db/database.js';
import { type JobContext, type JobQueue, PermanentJobError, errorMessage } from '../../infra/queue/contract.js';
import { HarvestError } from './errors.js';
import type { Harvester } from './harvester.js';
import * as store from './store.js';

export const IMAGES_JOB = 'harvest.images';
export const TEXT_JOB = 'harvest.text';
export const HARVEST_JOB_ATTEMPTS = 3;
export const HARVEST_JOB_BACKOFF_MS = 2_000;

export interface HarvestJobData {
  taskId: string;
}

/** What a job that harvested its page returns; a page that could not be harvested fails the job. */
export interface HarvestJobResult {
  status: 'done';
  images_stored?: number;
  images_failed?: number;
  text_length?: number;
}

export function registerHarvestJobs(queue: JobQueue, harvester: Harvester, untyped: Database, log: FastifyBaseLogger, concurrency: number): void {
  const database = withTables<store.HarvestTables>(untyped);
  queue.process<HarvestJobData, HarvestJobResult>(
    IMAGES_JOB,
    (job) =>
      runTask(job, database, log, async (url, signal) => {
        const outcome = await harvester.pageImages(job.data.taskId, url, signal);
        return { images_stored: outcome.stored, images_failed: outcome.failed };
      }),
    { concurrency },
  );
  queue.process<HarvestJobData, HarvestJobResult>(
    TEXT_JOB,
    (job) =>
      runTask(job, database, log, async (url, signal) => {
        const text = await harvester.pageText(url, signal);
        await database.run((db) => store.saveText(db, job.data.taskId, text));
        return { text_length: text.length };
      }),
    { concurrency },
  );
}

async function runTask(
  job: JobContext<HarvestJobData>,
  database: Database<store.HarvestTables>,
  log: FastifyBaseLogger,
  work: (url: string, signal: AbortSignal) => Promise<Partial<HarvestJobResult>>,
): Promise<HarvestJobResult> {
  const { taskId } = job.data;
  const task = await database.run((db) => store.markTaskRunning(db, taskId, Date.now()));
  if (!task) throw new PermanentJobError(`harvest task ${taskId} no longer exists`);
  try {
    const result = await work(task.url, job.signal);
    await database.run((db) => store.finishTask(db, taskId, { status: 'done', error: null, now: Date.now() }));
    return { status: 'done', ...result };
  } catch (error) {
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
