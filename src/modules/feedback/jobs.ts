// The queued save. The job id is the row id, and the insert skips an id that is already stored:
// a job that runs again (its worker was killed after the insert, before the queue recorded the
// outcome) finds its own row and stores no second copy.
import type { AppContext } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { IdempotencyKeyPruner } from './idempotency-pruning.js';
import type { FeedbackService } from './service.js';
import type { FeedbackInput } from './validation.js';

export const FEEDBACK_SAVE_JOB = 'feedback.save';

export interface FeedbackSaveJob extends FeedbackInput {
  /** when the person submitted it (epoch ms): the listing's time, however late the worker runs */
  created_at: number;
  /** a suspect form post (spam-rules.ts): saved marked, not listed nor announced */
  spam?: boolean;
}

export interface FeedbackSaveResult {
  id: string;
  /** false when an earlier run of this job had already stored the row */
  stored: boolean;
}

// Accepted feedback must outlive a database outage: retries back off 1, 2, 4 … 256 s (about 8.5
// minutes in all) before the job is marked failed, and a failed job keeps its data in the queue.
export const SAVE_JOB_RETRIES = { attempts: 10, backoffMs: 1000 } as const;

// Saves are small inserts that the group commit joins together: many at once per worker process.
const SAVE_CONCURRENCY = 64;

/** Registers the save and starts pruning old Idempotency-Keys (worker processes only); returns the pruner to stop. */
export function registerFeedbackJobs(queue: JobQueue, service: FeedbackService, ctx: AppContext): IdempotencyKeyPruner {
  const pruner = new IdempotencyKeyPruner(service.keys, { retentionMs: ctx.config.feedbackIdempotencyKeyRetentionMs, log: ctx.log });
  pruner.start();
  queue.process<FeedbackSaveJob, FeedbackSaveResult>(
    FEEDBACK_SAVE_JOB,
    async (job) => {
      const { name, email, message, rating, created_at, spam } = job.data;
      const stored = await service.save({ id: job.id, name, email, message, rating: rating ?? null, via: 'queued', created_at, ...(spam ? { spam: 1 as const } : {}) });
      return { id: job.id, stored };
    },
    { concurrency: SAVE_CONCURRENCY },
  );
  return pruner;
}
