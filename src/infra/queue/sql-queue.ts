// The SQL queue driver: jobs are rows in the configured database (SQLite embedded, PostgreSQL
// scaled). Workers claim due rows with a lease they keep renewing; a row whose lease runs out is
// taken to have lost its worker and runs again. Claims and outcomes are batched, so one statement
// serves many jobs when the queue is busy.
import { randomUUID } from 'node:crypto';
import { chunksOf } from '../db/chunks.js';
import { type Database, withTables } from '../db/database.js';
import { settlesWithin } from '../deadline.js';
import { newRowId } from '../ids.js';
import {
  type CancelOutcome,
  type EnqueueOptions,
  FINAL_STATES,
  type JobCounts,
  type JobFilter,
  type JobLogLine,
  type JobPage,
  type QueueOverview,
  type RetryOutcome,
  type JobEvent,
  type JobHandler,
  type JobQueue,
  type JobRecord,
  type KeyMode,
  type ScheduleRecord,
  type ScheduleSpec,
  type WorkerOptions,
  assertJobName,
  backoffDelay,
  errorMessage,
  keyOf,
  maxAttemptsOf,
  priorityOf,
  runAtOf,
  timeoutOf,
  trimmedStack,
  willRetry,
  type AttemptRecord,
  type FinishHook, type RunObserver } from './contract.js';
import { TickBatch, batchedLookup } from '../tick-batch.js';
import { JobWatchers } from './job-watchers.js';
import type { Notifier, QueueSignal } from './notifier.js';
import { type ClaimedRow, type FinishOutcome, type JobRow, type NewJobRow, type QueueTables, SqlQueueStore, insertedRow, rowToRecord } from './sql-queue-store.js';
import { type Registration, RunningJob, WorkerCore, runObserved } from './worker-core.js';
import { type GroupLimits, groupLimitsOf } from './group-limits.js';
import { type GroupTables, SqlGroupGate } from './sql-queue-groups.js';
import { type ControlTables, SqlControlStore } from './sql-queue-control.js';
import { Scheduler } from './schedules/scheduler.js';
import { checkedJobFilter } from './job-filter.js';
import { listJobRows, retryFailedRows } from './sql-queue-operate.js';
import { SqlScheduleStore } from './schedules/sql-schedule-store.js';
import { SqlJobLogStore, SqlJobLogs } from './sql-queue-logs.js';
import { jobTraceText, withoutJobTrace } from './job-trace.js';

export interface SqlQueueOptions {
  notifier: Notifier;
  /** how long a claimed job is ours without renewal (default 30 s) */
  leaseMs?: number;
  /** how often idle workers and waiters look at the table (default 500 ms) */
  pollMs?: number;
  /** finished jobs are deleted after this long (default 7 days) */
  retentionMs?: number;
  /** a job stalled more often than this fails (default 1, as BullMQ's maxStalledCount) */
  maxStalls?: number;
  log?: { warn(obj: object, msg: string): void };
  /** told of jobs that ended for good, in the transaction recording the finish (contract FinishHook) */
  onFinished?: FinishHook;
}

/** A claimed job: it stays running until its outcome is recorded (its lease is renewed until then). */
class ClaimedJob extends RunningJob {
  constructor(
    readonly row: ClaimedRow,
    /** the claim's time, the run's startedAt in the table */
    readonly startedAt: number,
  ) {
    super();
  }
}

interface Outcome {
  outcome: FinishOutcome;
  registration: SqlRegistration;
  job: ClaimedJob;
}

interface SqlRegistration extends Registration<ClaimedJob> {
  claimScheduled: boolean;
  /** the claim in flight: settles once the jobs it took are running (close() waits for it) */
  claiming: Promise<unknown> | null;
  /**
   * At or past this time (epoch ms) a claim first promotes the due delayed jobs of the name: the
   * run time of the earliest delayed job this process knows of (0: look now; Infinity: none
   * known). Claims of plain jobs skip the promotion while it lies ahead.
   */
  promoteAt: number;
  /** wakes the worker when promoteAt comes, with no other signal */
  wakeTimer?: NodeJS.Timeout;
  wakeAt?: number;
  /** groupConcurrency/groupRate: claims go through the group gate */
  groups: GroupLimits | null;
}

/** A job about to be stored, with what its key (if any) asks. */
interface NewJob {
  row: NewJobRow;
  keyMode: KeyMode | null;
  /** the caller chose the id (idempotent enqueue) */
  chosenId: boolean;
}

// A wake-up further ahead than this is set again later (the poll keeps looking in the meantime).
const MAX_WAKE_MS = 60_000;

export class SqlJobQueue implements JobQueue {
  readonly driver = 'sql' as const;
  private readonly store: SqlQueueStore;
  private readonly groupGate: SqlGroupGate;
  private readonly control: SqlControlStore;
  private readonly workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly workers = new WorkerCore<ClaimedJob, SqlRegistration>((registration) => this.scheduleClaim(registration));
  private readonly watchers = new JobWatchers();
  /** Outcomes recorded in one tick are written by one statement, one write after the other. */
  private readonly outcomes = new TickBatch<Outcome>((batch) => this.flushOutcomes(batch), { maxBatch: Infinity, maxInFlight: 1 });
  private readonly lookups = batchedLookup<JobRow>(async (ids) => {
    const rows = await this.database.run(() => this.store.getMany(ids));
    return new Map(rows.map((row) => [row.id, row]));
  });
  /** settles after the last outcome recorded is written (outcomes are written in order): close() waits for it */
  private flushing: Promise<void> = Promise.resolve();
  /** close() no longer waits for claims in flight: what they took must not start */
  private claimsAbandoned = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly retentionMs: number;
  private readonly scheduler: Scheduler;
  private readonly logs: SqlJobLogs;

  constructor(
    private readonly database: Database,
    private readonly options: SqlQueueOptions,
  ) {
    this.store = new SqlQueueStore(withTables<QueueTables>(database).db, database.dialect, options.onFinished);
    this.scheduler = new Scheduler(new SqlScheduleStore(database), this, { log: options.log });
    this.groupGate = new SqlGroupGate(withTables<GroupTables>(database).db, database.dialect);
    this.control = new SqlControlStore(withTables<ControlTables>(database).db);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 500;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3600_000;
    options.notifier.onSignal((signal) => this.onSignal(signal));
    this.logs = new SqlJobLogs(new SqlJobLogStore(database.db), this.watchers, options.notifier, this.workerId, (statement) => database.run(statement), this.pollMs, (error) =>
      this.options.log?.warn({ err: error }, 'queue background task failed'),
    );
    // Waiters and subscribers of jobs finished by other processes are answered by the signal, or
    // by this poll when a signal was lost.
    this.watchers.poll(
      this.pollMs,
      async (ids) => {
        const rows: JobRow[] = [];
        for (const chunk of chunksOf(ids)) rows.push(...(await this.store.getFinished(chunk)));
        return rows.map((row) => rowToRecord(row));
      },
      (error) => this.options.log?.warn({ err: error }, 'queue background task failed'),
      { listeners: true },
    );
  }

  async enqueue<Data>(name: string, data: Data, options: EnqueueOptions = {}): Promise<JobRecord<Data>> {
    const job = this.newJob(name, data, options);
    if (job.keyMode) {
      const { row, stored } = await this.enqueueWithKey(job);
      if (stored) this.announceStored([row]);
      return rowToRecord(row) as JobRecord<Data>;
    }
    const inserted = await this.database.run(() => this.store.insert([job.row], !job.chosenId));
    if (!inserted.has(job.row.id)) {
      const existing = await this.database.run(() => this.store.get(job.row.id));
      if (existing) return rowToRecord(existing) as JobRecord<Data>;
    }
    this.announceStored([job.row]);
    return rowToRecord(insertedRow(job.row)) as JobRecord<Data>;
  }

  async enqueueBulk<Data>(jobs: { name: string; data: Data; options?: EnqueueOptions }[]): Promise<string[]> {
    // Every job is checked before any is stored.
    const newJobs = jobs.map((job) => this.newJob(job.name, job.data, job.options ?? {}));
    const plainJobs = newJobs.filter((job) => !job.keyMode);
    const plain = plainJobs.map((job) => job.row);
    const inserted = await this.database.run(() => this.store.insert(plain, !plainJobs.some((job) => job.chosenId)));
    const stored: Pick<JobRow, 'id' | 'name' | 'state' | 'run_at'>[] = plain.filter((row) => inserted.has(row.id));
    const ids = newJobs.map((job) => job.row.id);
    // Keyed jobs one by one, in order: a later job of the bulk may find the key taken by an earlier one.
    for (const [i, job] of newJobs.entries()) {
      if (!job.keyMode) continue;
      const result = await this.enqueueWithKey(job);
      ids[i] = result.row.id;
      if (result.stored) stored.push(result.row);
    }
    this.announceStored(stored);
    return ids;
  }

  private newJob(name: string, data: unknown, options: EnqueueOptions): NewJob {
    assertJobName(name);
    if (options.group !== undefined && (typeof options.group !== 'string' || !options.group)) throw new RangeError('group must be a non-empty string');
    const now = Date.now();
    const runAt = runAtOf(options, now);
    const key = keyOf(options);
    const row: NewJobRow = {
      id: options.jobId ?? newRowId(),
      name,
      data: JSON.stringify(data ?? null),
      state: runAt > now ? 'delayed' : 'queued',
      max_attempts: maxAttemptsOf(options),
      backoff_ms: options.backoffMs ?? 1000,
      run_at: runAt,
      priority: priorityOf(options),
      timeout_ms: timeoutOf(options),
      job_group: options.group ?? null,
      job_key: key?.key ?? null,
      held_key: key?.key ?? null,
      key_ttl_ms: key?.ttlMs ?? null,
      created_at: now,
      trace: jobTraceText(options),
    };
    return { row, keyMode: key?.mode ?? null, chosenId: options.jobId !== undefined };
  }

  /** A keyed job: takes the key, or leaves or updates its holder (sql-queue-keys.ts). */
  private async enqueueWithKey(job: NewJob): Promise<{ row: JobRow; stored: boolean }> {
    const { row, keyMode } = job;
    // A chosen id that is already stored is the job, whatever its key (idempotent enqueue).
    const existing = job.chosenId ? await this.database.run(() => this.store.get(row.id)) : undefined;
    if (existing) return { row: existing, stored: false };
    try {
      return await this.database.run(() => this.store.enqueueKeyed({ ...row, held_key: row.held_key! }, keyMode!, Date.now()));
    } catch (error) {
      // The chosen id was stored meanwhile by another enqueue: the primary key refused this one.
      const stored = job.chosenId ? await this.database.run(() => this.store.get(row.id)) : undefined;
      if (stored) return { row: stored, stored: false };
      throw error;
    }
  }

  async getJob<Data = unknown, Result = unknown>(id: string): Promise<JobRecord<Data, Result> | null> {
    const row = await this.database.run(() => this.store.get(id));
    return row ? (rowToRecord(row) as JobRecord<Data, Result>) : null;
  }

  async cancel(id: string): Promise<CancelOutcome> {
    const row = await this.database.run(() => this.store.cancel(id, Date.now()));
    if (row) {
      this.announce('finished', row.name, [row.id]);
      this.watchers.settle(rowToRecord(row));
      return 'cancelled';
    }
    const active = await this.database.run(() => this.control.cancelActive(id, Date.now()));
    if (active) {
      // Its worker, here or in another process, stops the run; readers see it cancelled already.
      this.announce('cancel', active.name, [active.id]);
      this.announce('finished', active.name, [active.id]);
      this.watchers.settle(rowToRecord(active));
      return 'cancelling';
    }
    return (await this.database.run(() => this.store.get(id))) ? 'not_cancellable' : 'not_found';
  }

  async waitForFinish<Data = unknown, Result = unknown>(id: string, timeoutMs: number): Promise<JobRecord<Data, Result>> {
    const record = await this.watchers.wait(id, timeoutMs, async () => {
      const row = await this.lookups.get(id);
      if (!row) return 'not_found';
      return FINAL_STATES.has(row.state) ? rowToRecord(row) : 'waiting';
    });
    return record as JobRecord<Data, Result>;
  }

  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    // Subscribers are polled for like waiters, so that a finish seen only by polling reaches them too.
    const unsubscribe = this.watchers.listen(jobId, listener);
    this.logs.follow(jobId);
    return unsubscribe;
  }

  observeRuns(observer: RunObserver): void {
    this.workers.observer = observer;
  }

  process<Data, Result>(name: string, handler: JobHandler<Data, Result>, options: WorkerOptions = {}): void {
    this.workers.register(name, handler, options, { claimScheduled: false, claiming: null, promoteAt: 0, groups: groupLimitsOf(options) });
  }

  async startWorkers(): Promise<void> {
    if (!this.workers.startAll()) return;
    this.scheduler.start();
    // Running workers are a reason for the process to stay alive (a worker-only process may
    // have nothing else holding the event loop open); the other timers are not.
    this.every(
      this.pollMs,
      () => {
        this.stopCancelledRuns().catch((error) => this.options.log?.warn({ err: error }, 'looking for cancelled runs failed'));
        for (const registration of this.workers.all()) {
          // Delayed jobs enqueued by processes whose signals do not reach this one (SQLite) or
          // were lost: looked for once per poll.
          registration.promoteAt = 0;
          this.scheduleClaim(registration);
        }
      },
      { keepAlive: true },
    );
    this.every(Math.max(50, Math.floor(this.leaseMs / 3)), () => this.renewLeasesAndRecover());
    this.every(10 * 60_000, () => this.store.removeFinishedBefore(Date.now() - this.retentionMs));
  }

  private every(ms: number, task: () => unknown, { keepAlive = false } = {}): void {
    const timer = setInterval(() => {
      Promise.resolve()
        .then(task)
        .catch((error) => this.options.log?.warn({ err: error }, 'queue background task failed'));
    }, ms);
    if (!keepAlive) timer.unref();
    this.timers.push(timer);
  }

  /** Claims coalesce: many completions in one tick lead to one claim for all the free slots. */
  private scheduleClaim(registration: SqlRegistration): void {
    if (!this.workers.running || registration.claimScheduled) return;
    registration.claimScheduled = true;
    setImmediate(() => {
      registration.claimScheduled = false;
      // A claim takes the jobs of many requests: it joins none of their traces (each run does).
      void withoutJobTrace(() => this.claim(registration));
    });
  }

  private async claim(registration: SqlRegistration): Promise<void> {
    if (!this.workers.running || registration.claiming) return;
    const free = Math.max(0, registration.concurrency - registration.running.size);
    // With every slot busy there is nothing to claim, but delayed jobs that are due still become queued.
    if (free === 0 && Date.now() < registration.promoteAt) return;
    const claiming = this.claimAndRun(registration, free);
    registration.claiming = claiming;
    const taken = await claiming;
    registration.claiming = null;
    if (!this.workers.running) return;
    // Every slot filled, or only promoting (no slot was free): slots may have come free while it
    // ran, and their claims were skipped for this one in flight, so claim again.
    if (taken === free) this.scheduleClaim(registration);
    this.wakeForDelayed(registration);
  }

  /** Promotes due delayed jobs when one may be due, then claims up to `free` jobs and starts them; how many it took. Never rejects. */
  private async claimAndRun(registration: SqlRegistration, free: number): Promise<number> {
    let rows: ClaimedRow[] = [];
    let claimedAt = 0;
    try {
      if (Date.now() >= registration.promoteAt) await this.promoteDue(registration);
      if (free > 0) {
        claimedAt = Date.now();
        rows = registration.groups
          ? await this.groupGate.claim(registration.name, registration.groups, free, this.workerId, claimedAt, this.leaseMs)
          : await this.store.claim(registration.name, free, this.workerId, claimedAt, this.leaseMs);
      }
    } catch (error) {
      this.options.log?.warn({ err: error, job: registration.name }, 'claiming jobs failed; will retry');
    }
    // close() may have begun while the claim was in the database. The rows are this worker's now
    // (the database shows them active), so they start, and close() waits for this claim before it
    // looks at running jobs: they get the grace period and the abort like the others. Only if
    // close() stopped waiting (the claim outlasted the grace period) are they left unstarted:
    // their lease lapses and another worker runs them.
    if (this.claimsAbandoned) return 0;
    for (const row of rows) this.run(registration, row, claimedAt);
    return rows.length;
  }

  private async promoteDue(registration: SqlRegistration): Promise<void> {
    // A delayed job noted while the statements run lowers it again.
    registration.promoteAt = Infinity;
    try {
      const next = await this.store.promoteDue(registration.name, Date.now());
      registration.promoteAt = Math.min(registration.promoteAt, next ?? Infinity);
    } catch (error) {
      registration.promoteAt = Date.now() + this.pollMs;
      throw error;
    }
  }

  /** A delayed job of this name is due at `dueAt`: promote it then, waking for it if nothing else does. */
  private noteDelayed(registration: SqlRegistration, dueAt: number): void {
    registration.promoteAt = Math.min(registration.promoteAt, dueAt);
    this.wakeForDelayed(registration);
  }

  /** A delayed job becomes due without any signal: wake for it rather than wait for the poll. */
  private wakeForDelayed(registration: SqlRegistration): void {
    const at = registration.promoteAt;
    if (!this.workers.running || !Number.isFinite(at)) return;
    if (registration.wakeTimer && registration.wakeAt! <= at) return;
    clearTimeout(registration.wakeTimer);
    registration.wakeAt = at;
    registration.wakeTimer = setTimeout(
      () => {
        registration.wakeTimer = undefined;
        this.scheduleClaim(registration);
      },
      Math.min(MAX_WAKE_MS, Math.max(1, at - Date.now())),
    );
    registration.wakeTimer.unref();
  }

  private run(registration: SqlRegistration, row: ClaimedRow, claimedAt: number): void {
    const job = new ClaimedJob(row, claimedAt);
    this.workers.began(registration, job);
    if (this.watchers.isWatched(row.id)) this.watchers.emit(row.id, { type: 'active', jobId: row.id, name: row.name });
    void (async () => {
      const context = {
        id: row.id,
        name: row.name,
        data: JSON.parse(row.data),
        attempt: Number(row.attempts),
        runAt: Number(row.run_at),
        log: (message: string) => this.logs.log(row.id, row.name, message),
        get signal() {
          return job.signal;
        },
        reportProgress: async (progress: JobRecord['progress']) => {
          // a cancelled run that goes on (it ignores its signal) reports to no one
          if (job.cancelled) return;
          const text = JSON.stringify(progress);
          await this.database.run(() => this.store.setProgress(row.id, this.workerId, text));
          this.watchers.emit(row.id, { type: 'progress', jobId: row.id, name: row.name, progress });
          this.options.notifier.publish({ origin: this.workerId, kind: 'progress', name: row.name, ids: [row.id] });
        },
      };
      let outcome: FinishOutcome;
      try {
        const run = { id: row.id, name: row.name, attempt: context.attempt, trace: row.trace, runAt: context.runAt, timeoutMs: row.timeout_ms === null ? null : Number(row.timeout_ms) };
        const result = await runObserved(this.workers.observer, job, run, () => registration.handler(context));
        outcome = { id: row.id, state: 'completed', result: JSON.stringify(result ?? null), error: null, runAt: Number(row.run_at), finishedAt: Date.now(), failedRun: null, stack: null };
      } catch (error) {
        // Stalled runs are not failures of the job: only failed runs use up its attempts (since its last retry()).
        const failures = Number(row.attempts) - Number(row.attempts_before_retry ?? 0) - Number(row.stalls ?? 0);
        const retry = willRetry(failures, Number(row.max_attempts), error);
        const now = Date.now();
        const retryAt = now + backoffDelay(Number(row.backoff_ms), failures);
        outcome = {
          id: row.id,
          state: !retry ? 'failed' : retryAt > now ? 'delayed' : 'queued',
          result: null,
          error: errorMessage(error),
          runAt: retry ? retryAt : Number(row.run_at),
          finishedAt: retry ? null : now,
          failedRun: JSON.stringify({ attempt: Number(row.attempts), startedAt: job.startedAt, finishedAt: now, error: errorMessage(error) } satisfies AttemptRecord),
          stack: trimmedStack(error),
        };
      }
      // Cancelled while it ran: the row is cancelled already, and whatever the run ended with is dropped.
      if (job.cancelled) {
        this.workers.ended(registration, job);
        this.scheduleClaim(registration);
        return;
      }
      // A write that failed for good was logged by flushOutcomes' retries: nothing is left to do here.
      this.flushing = this.outcomes.add({ outcome, registration, job }).catch(() => {});
    })();
  }

  private async flushOutcomes(batch: Outcome[]): Promise<void[]> {
    let applied: ReadonlyMap<string, string> | null = null;
    for (let attempt = 0; applied === null; attempt++) {
      try {
        applied = await this.store.finish(batch.map((e) => e.outcome), this.workerId);
      } catch (error) {
        // The database may be briefly away: keep the outcomes and try again while the lease holds;
        // past it, another worker will run the job again (at-least-once).
        this.options.log?.warn({ err: error, attempt }, 'recording job outcomes failed; retrying');
        if (this.workers.closed && attempt > 3) applied = new Map();
        else await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
    const finished = new Map<string, string[]>();
    const requeued: Pick<JobRow, 'id' | 'name' | 'state' | 'run_at'>[] = [];
    const settled: string[] = [];
    for (const { outcome, registration, job } of batch) {
      this.workers.ended(registration, job);
      this.scheduleClaim(registration);
      if (!applied.has(outcome.id)) continue;
      const retry = outcome.state === 'queued' || outcome.state === 'delayed';
      if (retry) requeued.push({ id: outcome.id, name: job.row.name, state: outcome.state, run_at: outcome.runAt });
      else pushTo(finished, job.row.name, outcome.id);
      // The hot path: most jobs have no one waiting on or listening to them.
      if (!this.watchers.isWatched(outcome.id)) continue;
      if (retry) this.watchers.emit(outcome.id, { type: 'failed', jobId: outcome.id, name: job.row.name, error: outcome.error ?? '', willRetry: true });
      else settled.push(outcome.id);
    }
    for (const [name, ids] of finished) this.options.notifier.publish({ origin: this.workerId, kind: 'finished', name, ids });
    this.announceStored(requeued);
    // Waiters and listeners get the record as the table now holds it (the claim read only what
    // running the job needs). If the read fails, the waiters' poll answers them.
    for (const ids of chunksOf(settled)) {
      const rows = await this.store.getFinished(ids).catch(() => []);
      for (const row of rows) this.watchers.settle(rowToRecord(row));
    }
    return batch.map(() => undefined);
  }

  /** Tells the workers, here and in other processes, of jobs just stored: due ones to claim, delayed ones to wake for. */
  private announceStored(rows: Pick<JobRow, 'id' | 'name' | 'state' | 'run_at'>[]): void {
    const due = new Map<string, string[]>();
    const delayed = new Map<string, { ids: string[]; dueAt: number }>();
    for (const row of rows) {
      if (row.state !== 'delayed') pushTo(due, row.name, row.id);
      else {
        const entry = delayed.get(row.name);
        if (!entry) delayed.set(row.name, { ids: [row.id], dueAt: Number(row.run_at) });
        else {
          entry.ids.push(row.id);
          entry.dueAt = Math.min(entry.dueAt, Number(row.run_at));
        }
      }
    }
    for (const [name, ids] of due) this.announce('enqueued', name, ids);
    for (const [name, { ids, dueAt }] of delayed) this.announce('enqueued', name, ids, dueAt);
  }

  private announce(kind: QueueSignal['kind'], name: string, ids: string[], dueAt?: number): void {
    const signal: QueueSignal = { origin: this.workerId, kind, name, ids, ...(dueAt === undefined ? {} : { dueAt }) };
    this.onSignal(signal);
    this.options.notifier.publish(signal);
  }

  private onSignal(signal: QueueSignal): void {
    if (signal.kind === 'cancel') return this.stopRuns(signal.ids);
    if (signal.kind === 'enqueued') {
      const registration = this.workers.get(signal.name);
      if (!registration) return;
      if (signal.dueAt === undefined) this.scheduleClaim(registration);
      else this.noteDelayed(registration, signal.dueAt);
      return;
    }
    if (signal.origin === this.workerId || signal.kind === 'log') return;
    const watched = signal.ids.filter((id) => this.watchers.isWatched(id));
    if (!watched.length) return;
    if (signal.kind === 'progress') {
      for (const id of watched) {
        this.store.get(id).then((row) => row && this.watchers.emit(id, { type: 'progress', jobId: id, name: row.name, progress: JSON.parse(row.progress) }), () => {});
      }
      return;
    }
    this.store.getFinished(watched).then((rows) => rows.forEach((row) => this.watchers.settle(rowToRecord(row))), () => {});
  }

  /** Stops the runs of these jobs in this process, if any (they were cancelled). */
  private stopRuns(ids: string[]): void {
    const cancelled = new Set(ids);
    for (const registration of this.workers.all()) for (const job of registration.running) if (cancelled.has(job.row.id)) job.cancel(job.row.id);
  }

  /** A cancel whose signal did not reach this process (SQLite across processes, a lost NOTIFY) is seen here, once per poll. */
  private async stopCancelledRuns(): Promise<void> {
    const mine = this.workers.all().flatMap((r) => [...r.running].filter((job) => !job.cancelled).map((job) => job.row.id));
    for (const ids of chunksOf(mine)) this.stopRuns(await this.control.cancelledAmong(ids));
  }

  private async renewLeasesAndRecover(): Promise<void> {
    const now = Date.now();
    const mine = this.workers.all().flatMap((r) => [...r.running].map((job) => job.row.id));
    await this.store.extendLeases(this.workerId, mine, now + this.leaseMs);
    const recovered = await this.store.recoverStalled(now, this.options.maxStalls ?? 1);
    for (const row of recovered) {
      if (row.state === 'queued') this.announce('enqueued', row.name, [row.id]);
      else {
        this.watchers.settle(rowToRecord(row));
        this.options.notifier.publish({ origin: this.workerId, kind: 'finished', name: row.name, ids: [row.id] });
      }
    }
  }

  schedule(id: string, spec: ScheduleSpec): Promise<ScheduleRecord> {
    return this.scheduler.schedule(id, spec);
  }

  unschedule(id: string): Promise<boolean> {
    return this.scheduler.unschedule(id);
  }

  listSchedules(): Promise<ScheduleRecord[]> {
    return this.scheduler.list();
  }

  // ---- #18 queue II: each block is replaced by the work that builds it ----

  // list and filter (sql-queue-operate.ts)
  async listJobs(filter: JobFilter = {}): Promise<JobPage> {
    const checked = checkedJobFilter(filter);
    return withTables<QueueTables>(this.database).run((db) => listJobRows(db, checked, Date.now()));
  }

  // dead jobs (sql-queue-operate.ts)
  async retry(id: string): Promise<RetryOutcome> {
    const rows = await withTables<QueueTables>(this.database).run((db) => retryFailedRows(db, { id }, Date.now()));
    if (rows.length) {
      this.announceRetried(rows);
      return 'retried';
    }
    return (await this.database.run(() => this.store.get(id))) ? 'not_failed' : 'not_found';
  }

  async retryFailed(filter: { name: string; failedAfter?: number }): Promise<number> {
    assertJobName(filter.name);
    if (filter.failedAfter !== undefined && !Number.isFinite(filter.failedAfter)) throw new RangeError('failedAfter must be a time in epoch milliseconds');
    const rows = await withTables<QueueTables>(this.database).run((db) => retryFailedRows(db, { name: filter.name, failedAfter: filter.failedAfter ?? null }, Date.now()));
    this.announceRetried(rows);
    return rows.length;
  }

  /** Retried jobs are due now: workers here and in other processes claim them at once (the 'enqueued' signal). */
  private announceRetried(rows: Pick<JobRow, 'id' | 'name'>[]): void {
    if (!rows.length) return;
    this.announceStored(rows.map((row) => ({ ...row, state: 'queued' as const, run_at: 0 })));
    for (const row of rows) if (this.watchers.isWatched(row.id)) this.watchers.emit(row.id, { type: 'queued', jobId: row.id, name: row.name });
  }

  // job logs
  async getLogs(id: string): Promise<JobLogLine[] | null> {
    return this.logs.read(id);
  }

  // pause, resume, overview
  async pause(name: string): Promise<void> {
    assertJobName(name);
    await this.database.run(() => this.control.pause(name, Date.now()));
  }

  async resume(name: string): Promise<void> {
    assertJobName(name);
    await this.database.run(() => this.control.resume(name));
    // idle workers, here and (PostgreSQL) elsewhere, claim at once
    this.announce('enqueued', name, []);
  }

  async overview(): Promise<QueueOverview[]> {
    return this.database.run(() => this.control.overview(Date.now(), this.workers.all().map((r) => r.name)));
  }

  // ---- end of #18 ----

  async counts(): Promise<JobCounts> {
    return this.database.run(() => this.store.counts(Date.now()));
  }

  async listRecent(options: { limit?: number; name?: string } = {}): Promise<JobRecord[]> {
    const rows = await this.database.run(() => this.store.listRecent(options.limit ?? 20, options.name));
    return rows.map((row) => rowToRecord(row));
  }

  async ping(): Promise<void> {
    await this.database.ping();
  }

  async close(graceMs = 10_000): Promise<void> {
    if (!this.workers.beginClose()) return;
    await this.scheduler.stop(graceMs);
    for (const timer of this.timers) clearInterval(timer);
    this.watchers.stopPolling();
    this.logs.stop();
    const deadline = Date.now() + graceMs;
    // A claim already committed in the database but not yet read here starts its jobs later:
    // looking at running jobs before it settles would miss them, and they would run on, never
    // asked to stop. So the claims in flight are waited for first, within the grace period.
    const registrations = this.workers.all();
    if (!(await settlesWithin(Promise.all(registrations.map((r) => r.claiming)), graceMs))) this.claimsAbandoned = true;
    for (const registration of registrations) clearTimeout(registration.wakeTimer);
    // Past the grace period handlers are asked to stop. Their jobs keep their lease and are
    // recovered by another worker when it expires.
    await this.workers.drain(deadline);
    await this.flushing;
    this.watchers.clear();
    await this.options.notifier.close();
  }
}

function pushTo(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
