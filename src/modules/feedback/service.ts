// What the routes and the job handler share: the store, and the group commits in front of the
// two writes on the request path (feedback rows, and save jobs put on the queue). Posts with an
// Idempotency-Key go through saveNowOnce and enqueueOnce (see idempotency.ts).
import type { AppContext } from '../../app-context.js';
import { newRowId } from '../../infra/ids.js';
import type { EnqueueOptions } from '../../infra/queue/contract.js';
import { withJobTrace } from '../../infra/queue/job-trace.js';
import { TickBatch } from '../../infra/tick-batch.js';
import { type IdempotencyRecord, KeyInProgressError, type RecordedAnswer, answerFromRecord } from './idempotency.js';
import { IdempotencyStore } from './idempotency-store.js';
import { FEEDBACK_SAVE_JOB, type FeedbackSaveJob, SAVE_JOB_RETRIES } from './jobs.js';
import { type FeedbackRow, FeedbackStore } from './store.js';
import type { FeedbackInput } from './validation.js';

export interface FeedbackOptions {
  /** group concurrent writes into one statement (default true; off only to measure the difference) */
  groupCommit?: boolean;
}

type NewJob = { name: string; data: FeedbackSaveJob; options: EnqueueOptions };
/** What a request may say about its save job: not its id nor its retries, which the service sets. */
type TaskEnqueueOptions = Omit<EnqueueOptions, 'jobId' | 'attempts' | 'backoffMs'>;
/** A row, with the Idempotency-Key to record in its transaction when the post carried one. */
type RowWrite = { row: FeedbackRow; key?: IdempotencyRecord };

/** A keyed post: its key and the fingerprint of the request (idempotency.ts fingerprintOf). */
export interface KeyedPost {
  key: string;
  fingerprint: string;
}

/** The answer a keyed post gets: its own, or (replayed) the one the key's first request got. */
export interface KeyedOutcome {
  answer: RecordedAnswer;
  replayed: boolean;
}

// An async post's claim on its key older than this, never completed (its process died, or it
// failed and could not release it), is taken over by the next request with the key. Taking over
// early is safe: the claim fixes the job id, and enqueueing an id twice stores one job.
const CLAIM_LEASE_MS = 10_000;

export class FeedbackService {
  readonly store: FeedbackStore;
  readonly keys: IdempotencyStore;
  private readonly rows: TickBatch<RowWrite, boolean> | null;
  private readonly jobs: TickBatch<NewJob, string> | null;

  constructor(
    private readonly ctx: AppContext,
    options: FeedbackOptions = {},
  ) {
    this.store = new FeedbackStore(ctx.database, ctx.events);
    this.keys = new IdempotencyStore(ctx.database);
    const grouped = options.groupCommit ?? true;
    // SQLite has one writer, so a second write in flight would only wait; PostgreSQL commits in
    // parallel on several pooled connections.
    const maxInFlight = ctx.database.dialect === 'sqlite' ? 1 : 4;
    this.rows = grouped
      ? new TickBatch((writes: RowWrite[]) => this.writeRows(writes), { maxBatch: 500, maxInFlight })
      : null;
    this.jobs = grouped ? new TickBatch((jobs) => ctx.queue.enqueueBulk(jobs), { maxBatch: 500, maxInFlight }) : null;
  }

  /** Saves a row unless its id is stored already; resolves once committed, with whether it was new. */
  async save(row: FeedbackRow): Promise<boolean> {
    return this.write({ row });
  }

  /** Saves a submission in the request; resolves with its id once committed. `spam`: a suspect form post, stored marked. */
  async saveNow(input: FeedbackInput, spam = false): Promise<string> {
    const id = newRowId();
    await this.save({ id, ...input, via: 'sync', created_at: Date.now(), ...spamMark(spam) });
    return id;
  }

  /**
   * saveNow for a post with an Idempotency-Key: the key and its answer are committed in the
   * transaction of the row, so a retry finds either both (and gets the answer again) or neither.
   */
  async saveNowOnce(input: FeedbackInput, post: KeyedPost, answerFor: (id: string) => RecordedAnswer, spam = false): Promise<KeyedOutcome> {
    return this.oneRequestPerKey(post.key, async () => {
      const id = newRowId();
      const now = Date.now();
      const answer = answerFor(id);
      const key: IdempotencyRecord = { key: post.key, fingerprint: post.fingerprint, resourceId: id, answer, createdAt: now, claimedAt: now };
      if (await this.write({ row: { id, ...input, via: 'sync', created_at: now, ...spamMark(spam) }, key })) return { answer, replayed: false };
      // the key was stored already (by another process, or by a request whose answer was lost)
      const earlier = await this.keys.find(post.key);
      if (!earlier) throw new KeyInProgressError();
      return { answer: answerFromRecord(earlier, post.fingerprint), replayed: true };
    });
  }

  /**
   * Puts a save job on the queue; resolves with its id (the task id, and the future row's id).
   * `options` say when and how it runs; with a key already taken, the id is that key's task.
   */
  async enqueueFeedbackSave(input: FeedbackInput, options: TaskEnqueueOptions = {}, spam = false): Promise<string> {
    // The queue gives the job its id (time-ordered, as newRowId): an id it minted is new, so the
    // insert need not ask which of its rows were already stored (sql-queue-store.ts).
    return this.enqueueSave(input, undefined, Date.now(), options, spam);
  }

  /**
   * enqueueFeedbackSave for a post with an Idempotency-Key. The key is claimed first with the job
   * id it will use, the job is enqueued under that id, then the answer is recorded. A retry after a
   * failure anywhere in between reuses the claim's job id, and the queue stores one job per id.
   */
  async enqueueOnce(input: FeedbackInput, post: KeyedPost, answerFor: (id: string) => RecordedAnswer, options: TaskEnqueueOptions = {}, spam = false): Promise<KeyedOutcome> {
    return this.oneRequestPerKey(post.key, async () => {
      const now = Date.now();
      let claim: IdempotencyRecord = { key: post.key, fingerprint: post.fingerprint, resourceId: newRowId(), answer: null, createdAt: now, claimedAt: now };
      const earlier = await this.keys.claim(claim);
      if (earlier) {
        if (earlier.answer || earlier.fingerprint !== post.fingerprint) return { answer: answerFromRecord(earlier, post.fingerprint), replayed: true };
        if (earlier.claimedAt > now - CLAIM_LEASE_MS || !(await this.keys.takeOver(earlier, now))) throw new KeyInProgressError();
        claim = earlier;
      }
      let answer: RecordedAnswer;
      try {
        // the queue's answer, not the claim's id: a task key already taken answers with its task
        answer = answerFor(await this.enqueueSave(input, claim.resourceId, claim.createdAt, options, spam));
        await this.keys.complete(post.key, answer);
      } catch (error) {
        // the retry may come at once; if this fails too, the lease lets it in a little later
        await this.keys.release(post.key).catch(() => {});
        throw error;
      }
      return { answer, replayed: false };
    });
  }

  private async enqueueSave(input: FeedbackInput, jobId: string | undefined, createdAt: number, options: TaskEnqueueOptions, spam = false): Promise<string> {
    // The batch enqueues in the first request's trace context: each job keeps its own request's.
    const data: FeedbackSaveJob = spam ? { ...input, created_at: createdAt, spam: true } : { ...input, created_at: createdAt };
    const job: NewJob = { name: FEEDBACK_SAVE_JOB, data, options: withJobTrace({ ...options, ...(jobId === undefined ? {} : { jobId }), ...SAVE_JOB_RETRIES }) };
    if (this.jobs) return this.jobs.add(job);
    return (await this.ctx.queue.enqueue(job.name, job.data, job.options)).id;
  }

  private async write(write: RowWrite): Promise<boolean> {
    if (this.rows) return this.rows.add(write);
    return (await this.writeRows([write]))[0];
  }

  /** One statement (a transaction when some rows carry keys); per row, whether it was stored. */
  private async writeRows(writes: RowWrite[]): Promise<boolean[]> {
    const keys = writes.flatMap((write) => (write.key ? [write.key] : []));
    const inserted = await this.store.insert(writes.map((write) => write.row), keys);
    return writes.map((write) => inserted.has(write.row.id));
  }

  // Requests with one key in one process: the second is answered 409 at once instead of joining
  // the first one's write (and, for sync posts, one batch never holds a key twice).
  private readonly keysInFlight = new Set<string>();

  private async oneRequestPerKey<T>(key: string, run: () => Promise<T>): Promise<T> {
    if (this.keysInFlight.has(key)) throw new KeyInProgressError();
    this.keysInFlight.add(key);
    try {
      return await run();
    } finally {
      this.keysInFlight.delete(key);
    }
  }
}

/** A spam row carries spam: 1; other rows leave the column to its default (rows stay as small as before). */
function spamMark(spam: boolean): { spam?: 1 } {
  return spam ? { spam: 1 } : {};
}
