// What the routes and the job handler share: the store, and the group commits in front of the
// two writes on the request path (feedback rows, and save jobs put on the queue).
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../../app-context.js';
import type { EnqueueOptions } from '../../infra/queue/contract.js';
import { GroupCommit } from './group-commit.js';
import { FEEDBACK_SAVE_JOB, type FeedbackSaveJob, SAVE_JOB_RETRIES } from './jobs.js';
import { type FeedbackRow, FeedbackStore } from './store.js';
import type { FeedbackInput } from './validation.js';

export interface FeedbackOptions {
  /** group concurrent writes into one statement (default true; off only to measure the difference) */
  groupCommit?: boolean;
}

type NewJob = { name: string; data: FeedbackSaveJob; options: EnqueueOptions };

export class FeedbackService {
  readonly store: FeedbackStore;
  private readonly rows: GroupCommit<FeedbackRow, boolean> | null;
  private readonly jobs: GroupCommit<NewJob, string> | null;

  constructor(
    private readonly ctx: AppContext,
    options: FeedbackOptions = {},
  ) {
    this.store = new FeedbackStore(ctx.database);
    const grouped = options.groupCommit ?? true;
    // SQLite has one writer, so a second write in flight would only wait; PostgreSQL commits in
    // parallel on several pooled connections.
    const maxInFlight = ctx.database.dialect === 'sqlite' ? 1 : 4;
    this.rows = grouped
      ? new GroupCommit(async (rows) => {
          const inserted = await this.store.insert(rows);
          return rows.map((row) => inserted.has(row.id));
        }, { maxBatch: 500, maxInFlight })
      : null;
    this.jobs = grouped ? new GroupCommit((jobs) => ctx.queue.enqueueBulk(jobs), { maxBatch: 500, maxInFlight }) : null;
  }

  /** Saves a row unless its id is stored already; resolves once committed, with whether it was new. */
  async save(row: FeedbackRow): Promise<boolean> {
    if (this.rows) return this.rows.submit(row);
    return (await this.store.insert([row])).has(row.id);
  }

  /** Saves a submission in the request; resolves with its id once committed. */
  async saveNow(input: FeedbackInput): Promise<string> {
    const id = randomUUID();
    await this.save({ id, ...input, via: 'sync', created_at: Date.now() });
    return id;
  }

  /** Puts a save job on the queue; resolves with its id (the task id, and the future row's id). */
  async enqueueFeedbackSave(input: FeedbackInput): Promise<string> {
    const job: NewJob = {
      name: FEEDBACK_SAVE_JOB,
      data: { ...input, created_at: Date.now() },
      options: { jobId: randomUUID(), ...SAVE_JOB_RETRIES },
    };
    if (this.jobs) return this.jobs.submit(job);
    return (await this.ctx.queue.enqueue(job.name, job.data, job.options)).id;
  }
}

const services = new WeakMap<AppContext, FeedbackService>();

/** One service per app: routes and job handlers of the same app share its group commits. */
export function feedbackServiceFor(ctx: AppContext, options: FeedbackOptions): FeedbackService {
  let service = services.get(ctx);
  if (!service) services.set(ctx, (service = new FeedbackService(ctx, options)));
  return service;
}
