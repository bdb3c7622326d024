// The BullMQ queue driver: jobs live in Redis, one BullMQ Queue per job name, workers in any
// process on any machine. Calls made on request paths go through one fast-failing connection and
// the dependency deadline (503 naming redis); workers and event readers use connections that wait
// out an outage and resume. An index (id → name) lets getJob and cancel work with the id alone.
import { Job, Queue, QueueEvents, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { callDependency } from '../dependency-errors.js';
import { settlesWithin } from '../deadline.js';
import { closeRedisClient, createRedisClient, firstConnection, pingRedis } from '../redis/connection.js';
import {
  type CancelOutcome,
  type EnqueueOptions,
  type JobContext,
  type JobCounts,
  type JobFilter,
  type JobLogLine,
  type JobPage,
  type QueueOverview,
  type RetryOutcome,
  type JobEvent,
  type JobHandler,
  type JobProgress,
  type JobQueue,
  type JobRecord,
  type ScheduleRecord,
  type ScheduleSpec,
  type JobState,
  type WorkerOptions,
  assertJobName,
  errorMessage,
  isPermanentJobError,
  keyOf,
  maxAttemptsOf,
  priorityOf,
  runAtOf,
  timeoutOf,
  willRetry,
  type FinishHook,
  type FinishedJob, type RunObserver } from './contract.js';
import { batchedLookup } from '../tick-batch.js';
import { JobWatchers } from './job-watchers.js';
import { type Registration, RunningJob, WorkerCore, runObserved } from './worker-core.js';
import { JobEventHub } from './bullmq-events.js';
import { IndexSweeper } from './bullmq-index-sweeper.js';
import { RETRYING_EVENT, WorkyardRedisKeys, cancelJob, fromBullId, repliesOf, toBullId } from './bullmq-keys.js';
import { countsOf, recentOf } from './bullmq-listing.js';
import { listBullJobs } from './bullmq-list-jobs.js';
import { RUN_FIELDS, failedSince, recordFailedRun, retryBullJob } from './bullmq-attempts.js';
import { checkedJobFilter } from './job-filter.js';
import { type WorkyardJobFields, type WorkyardJobsOptions, dueTimeOfDelayedScore, jobToRecord, workyardFieldsOf, workyardOptionsOf } from './bullmq-records.js';
import { enqueueWithKey, keepRetryDueTime, releaseKey } from './bullmq-job-keys.js';
import { BullGroupGate } from './bullmq-groups.js';
import { BullControl } from './bullmq-control.js';
import { type GroupLimits, groupLimitsOf } from './group-limits.js';
import { appendJobLog, readJobLogs } from './bullmq-logs.js';
import { Scheduler } from './schedules/scheduler.js';
import { RedisScheduleStore } from './schedules/redis-schedule-store.js';
import { jobTraceOf } from './job-trace.js';
import { newRowId } from '../ids.js';

export interface BullmqQueueOptions {
  redisUrl: string;
  /** every key starts with it (config.redisPrefix) */
  prefix: string;
  /** deadline of each call made on a request path (config.dependencyTimeoutMs) */
  timeoutMs: number;
  /** BullMQ lockDuration: a job whose worker stops renewing its lock for this long is stalled (default 30 s) */
  leaseMs?: number;
  /** how often workers look for stalled jobs (default: leaseMs) */
  stalledCheckMs?: number;
  /** a job stalled more often than this fails (default 1, as BullMQ's maxStalledCount) */
  maxStalls?: number;
  /** finished and cancelled jobs are kept this long (default 7 days) */
  retentionMs?: number;
  /** how often waited jobs are checked in case their finish event was missed (default 1 s) */
  waiterPollMs?: number;
  log?: { warn(obj: object, msg: string): void };
  /** told of jobs that ended for good, once BullMQ recorded the finish (contract FinishHook) */
  onFinished?: FinishHook;
}

interface BullRegistration extends Registration<BullJobContext> {
  worker?: Worker;
  /** groupConcurrency/groupRate, enforced by the gate in Redis (bullmq-groups.ts) */
  groups: GroupLimits | null;
  gate?: BullGroupGate;
}

/** What a handler sees of a BullMQ job; a class, so that a running job costs one small object. */
class BullJobContext extends RunningJob implements JobContext {
  readonly id: string;
  readonly data: unknown;
  readonly attempt: number;
  constructor(
    private readonly job: Job,
    readonly name: string,
    private readonly timeoutMs: number,
    private readonly logTo: (job: Job, message: string) => Promise<unknown>,
  ) {
    super();
    this.id = fromBullId(String(job.id));
    this.data = job.data;
    this.attempt = job.attemptsStarted;
  }
  get runAt(): number {
    return workyardFieldsOf(this.job).runAt ?? this.job.timestamp;
  }
  reportProgress(progress: JobProgress): Promise<void> {
    return callDependency('redis', this.timeoutMs, () => this.job.updateProgress(progress));
  }
  async log(message: string): Promise<void> {
    await callDependency('redis', this.timeoutMs, () => this.logTo(this.job, message));
  }
}

const DEFAULT_BACKOFF = { type: 'exponential', delay: 1000 } as const;

export class BullmqJobQueue implements JobQueue {
  readonly driver = 'bullmq' as const;
  private readonly keys: WorkyardRedisKeys;
  /** request paths: no offline queue, fails at once while Redis is away */
  private readonly redis: Redis;
  /** workers and event readers (duplicated by BullMQ for its blocking commands) */
  private blockingRedis?: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly knownNames = new Set<string>();
  private readonly workers = new WorkerCore<BullJobContext, BullRegistration>((registration) => this.startWorker(registration));
  private readonly watchers = new JobWatchers();
  private readonly hub: JobEventHub;
  private readonly sweeper: IndexSweeper;
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private lastWarning = 0;
  // waitForFinish reads coalesced per tick: many waiters at once cost a few pipelines, not a
  // command each queued past the deadline.
  private readonly names = batchedLookup<string>((ids) =>
    this.call(async () => {
      const names = await this.redis.hmget(this.keys.index, ...ids);
      return new Map(ids.flatMap((id, i) => (names[i] ? [[id, names[i]!] as const] : [])));
    }),
  );
  private readonly progressChecks = batchedLookup<'waiting' | 'finished' | 'gone'>((ids) => this.call(() => this.checkProgress(ids)));
  private readonly records = batchedLookup<JobRecord>((ids) =>
    this.call(async () => {
      const names = await this.redis.hmget(this.keys.index, ...ids);
      const records = await Promise.all(ids.map((id, i) => (names[i] ? this.fetchRecord(id, names[i]!) : null)));
      return new Map(records.flatMap((record) => (record ? [[record.id, record] as const] : [])));
    }),
  );
  /** BullMQ's removeOnComplete/removeOnFail: by age, the retention */
  private readonly keep: { age: number };
  private readonly scheduler: Scheduler;
  private readonly control: BullControl;
  /** cancels heard before their run began here (the job was fetched, its handler not yet called): id → when heard */
  private readonly cancelsAhead = new Map<string, number>();

  constructor(private readonly options: BullmqQueueOptions) {
    this.keys = new WorkyardRedisKeys(options.prefix);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3600_000;
    this.keep = { age: Math.ceil(this.retentionMs / 1000) };
    this.redis = this.connect('command', 'workyard-queue');
    this.scheduler = new Scheduler(new RedisScheduleStore(this.redis, options.prefix, (fn) => this.call(fn)), this, { log: options.log });
    this.hub = new JobEventHub(this.watchers, {
      openQueueEvents: (name, lastEventId) =>
        new QueueEvents(name, { connection: this.blocking(), prefix: options.prefix, lastEventId, blockingTimeout: 5_000 }),
      lastEventId: (name) =>
        this.call(async () => (await this.redis.xrevrange(this.queueFor(name).keys.events, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0'),
      fetchRecord: async (id) => (await this.records.get(id)) ?? null,
      onError: (error) => this.warn(error, 'queue events failed'),
    });
    this.control = new BullControl(this.redis, this.keys, this.retentionMs, (error, message) => this.warn(error, message));
    this.sweeper = new IndexSweeper(this.redis, this.keys, (name) => this.queueFor(name));
    // BullMQ trims a queue's event stream (about 10,000 events): a reader that falls behind, or
    // was cut off by an outage, misses finishes.
    this.watchers.poll(
      options.waiterPollMs ?? 1_000,
      async (ids) => {
        const records = await Promise.all(ids.map(async (id) => ((await this.progressChecks.get(id)) === 'finished' ? this.records.get(id) : undefined)));
        return records.filter((record) => record !== undefined);
      },
      (error) => this.warn(error, 'checking waited jobs failed'),
    );
  }

  private connect(kind: 'command' | 'blocking', name: string): Redis {
    return createRedisClient(
      { redisUrl: this.options.redisUrl, dependencyTimeoutMs: this.options.timeoutMs },
      { kind, name, onError: (error) => this.warn(error, `redis connection (${name}) failed`) },
    );
  }

  private blocking(): Redis {
    this.blockingRedis ??= this.connect('blocking', 'workyard-worker');
    return this.blockingRedis;
  }

  /** An outage makes every connection report each reconnection attempt; one line per 10 s is enough. */
  private warn(error: unknown, message: string): void {
    if (this.workers.closed || Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.options.log?.warn({ err: error }, message);
  }

  private call<T>(fn: () => Promise<T>, timeoutMs = this.options.timeoutMs): Promise<T> {
    return callDependency('redis', timeoutMs, async () => {
      await firstConnection(this.redis);
      return fn();
    });
  }

  private queueFor(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      assertJobName(name);
      queue = new Queue(name, { connection: this.redis, prefix: this.options.prefix });
      queue.on('error', (error) => this.warn(error, `queue ${name} failed`));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * BullMQ's options for a new job, checked. Every job gets an explicit BullMQ priority (1 to 10):
   * BullMQ runs jobs without one (0) before every prioritized job, so one unprioritized job
   * would jump the order. `timestamp` is given so that the due time is exactly runAt.
   */
  private jobOptions(bullId: string, options: EnqueueOptions, now: number): WorkyardJobsOptions {
    const attempts = maxAttemptsOf(options);
    const backoffMs = Math.max(0, options.backoffMs ?? 1000);
    const runAt = runAtOf(options, now);
    const priority = priorityOf(options);
    const timeoutMs = timeoutOf(options);
    const key = keyOf(options);
    const fields: WorkyardJobFields = {};
    if (options.group !== undefined) fields.group = options.group;
    if (key) fields.key = key.key;
    if (key?.ttlMs != null) fields.keyTtlMs = key.ttlMs;
    if (timeoutMs !== null) fields.timeoutMs = timeoutMs;
    if (runAt > now) fields.runAt = runAt;
    const trace = jobTraceOf(options);
    if (trace) fields.trace = trace;
    return {
      jobId: bullId,
      attempts,
      backoff: backoffMs === 1000 ? DEFAULT_BACKOFF : { type: 'exponential', delay: backoffMs },
      delay: runAt - now,
      timestamp: now,
      priority,
      // Finished jobs stay readable (/tasks/:id, dead letters) for the retention, then BullMQ drops them.
      removeOnComplete: this.keep,
      removeOnFail: this.keep,
      ...(Object.keys(fields).length > 0 && { workyard: fields }),
    };
  }

  /** Names are recorded once per process, for counts() and listRecent(). */
  private rememberName(name: string): Promise<unknown> | null {
    if (this.knownNames.has(name)) return null;
    this.knownNames.add(name);
    return this.redis.sadd(this.keys.names, name).catch((error) => {
      this.knownNames.delete(name);
      throw error;
    });
  }

  async enqueue<Data>(name: string, data: Data, options: EnqueueOptions = {}): Promise<JobRecord<Data>> {
    const queue = this.queueFor(name);
    const id = options.jobId ?? newRowId();
    const now = Date.now();
    const jobOptions = this.jobOptions(toBullId(id), options, now);
    const initialState = stateOnAdd(jobOptions);
    return this.call(async () => {
      if (jobOptions.workyard?.key !== undefined) return (await this.enqueueKeyed(queue, name, data, id, options, jobOptions)) as JobRecord<Data>;
      if (options.jobId !== undefined) {
        const [claimed] = await Promise.all([this.redis.hsetnx(this.keys.index, id, name), this.rememberName(name)]);
        if (!claimed) {
          const existing = await this.fetchById(id);
          if (existing) return existing as JobRecord<Data>;
          // The index outlived its job (retention): the id is free again.
          await this.redis.hset(this.keys.index, id, name);
        }
        const [job] = await Promise.all([queue.add(name, data ?? null, jobOptions), this.indexCreated([{ id, name, createdAt: now }], claimed === 1)]);
        return jobToRecord(job, initialState) as JobRecord<Data>;
      }
      const [, , job] = await Promise.all([
        this.redis.hset(this.keys.index, id, name),
        this.rememberName(name),
        queue.add(name, data ?? null, jobOptions),
        this.indexCreated([{ id, name, createdAt: now }]),
      ]);
      return jobToRecord(job, initialState) as JobRecord<Data>;
    });
  }

  /** A job with a key: one script decides, atomically, whether it is added, kept or replaces the key's job. */
  private async enqueueKeyed(queue: Queue, name: string, data: unknown, id: string, options: EnqueueOptions, opts: WorkyardJobsOptions, tries = 3): Promise<JobRecord> {
    const key = keyOf(options)!;
    await this.rememberName(name);
    const result = await enqueueWithKey(this.redis, this.keys, queue, {
      name, key: key.key, mode: key.mode, id, bullId: opts.jobId!, chosenId: options.jobId !== undefined, data, opts,
      now: opts.timestamp!, runAt: opts.timestamp! + opts.delay!, priority: opts.priority!, timeoutMs: opts.workyard?.timeoutMs ?? null,
    });
    if (result.outcome === 'added') {
      await this.indexCreated([{ id, name, createdAt: opts.timestamp! }]);
      return jobToRecord(new Job(queue, name, data ?? null, opts, opts.jobId), stateOnAdd(opts));
    }
    const existing = result.outcome === 'taken' ? await this.fetchById(id) : await this.fetchRecord(fromBullId(result.bullId), name);
    if (existing) return existing;
    // The key's job was removed between the script and this read (retention, cancellation): the
    // key is free now, so the next try adds the job.
    if (tries <= 1) throw new Error(`job key ${key.key} of ${name}: its job kept vanishing while enqueueing`);
    return this.enqueueKeyed(queue, name, data, id, options, opts, tries - 1);
  }

  async enqueueBulk<Data>(jobs: { name: string; data: Data; options?: EnqueueOptions }[]): Promise<string[]> {
    for (const name of new Set(jobs.map((job) => job.name))) this.queueFor(name);
    const now = Date.now();
    const entries = jobs.map(({ name, data, options }) => {
      const id = options?.jobId ?? newRowId();
      return { name, data, id, chosen: options?.jobId !== undefined, options: options ?? {}, opts: this.jobOptions(toBullId(id), options ?? {}, now) };
    });
    if (!entries.length) return [];
    // Jobs with a key each go through the key script (after the others, in order).
    const keyed = entries.filter((e) => e.opts.workyard?.key !== undefined);
    const plain = entries.filter((e) => e.opts.workyard?.key === undefined);
    // A big batch takes longer than one command: the deadline grows with it.
    return this.call(async () => {
      if (plain.length) await this.addBulkPlain(plain);
      const resolved = new Map<(typeof entries)[number], string>();
      for (const e of keyed) resolved.set(e, (await this.enqueueKeyed(this.queueFor(e.name), e.name, e.data, e.id, e.options, e.opts)).id);
      return entries.map((e) => resolved.get(e) ?? e.id);
    }, this.options.timeoutMs + Math.ceil(entries.length / 2) + keyed.length * 5);
  }

  private async addBulkPlain(entries: { name: string; data: unknown; id: string; chosen: boolean; opts: WorkyardJobsOptions }[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    const generated = entries.filter((e) => !e.chosen);
    const chosen = entries.filter((e) => e.chosen);
    if (generated.length) pipeline.hset(this.keys.index, ...generated.flatMap((e) => [e.id, e.name]));
    for (const e of chosen) pipeline.hsetnx(this.keys.index, e.id, e.name);
    if (chosen.length) pipeline.hmget(this.keys.index, ...chosen.map((e) => e.id));
    const names = [...new Set(entries.map((e) => e.name))].filter((n) => !this.knownNames.has(n));
    if (names.length) pipeline.sadd(this.keys.names, ...names);
    const results = await repliesOf(pipeline);
    names.forEach((n) => this.knownNames.add(n));
    // A caller-chosen id already taken by a job of another name is that job (idempotent);
    // one taken by this name is added again and BullMQ keeps the existing job.
    const owners = chosen.length ? (results[(generated.length ? 1 : 0) + chosen.length] as (string | null)[]) : [];
    const taken = new Set(chosen.filter((e, i) => owners[i] !== e.name).map((e) => e.id));
    const byName = new Map<string, typeof entries>();
    for (const e of entries) if (!taken.has(e.id)) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    await Promise.all([
      ...[...byName].map(([name, list]) => this.queueFor(name).addBulk(list.map((e) => ({ name, data: e.data ?? null, opts: e.opts })))),
      this.indexCreated(entries.filter((e) => !taken.has(e.id)).map((e) => ({ id: e.id, name: e.name, createdAt: e.opts.timestamp! }))),
    ]);
  }

  /**
   * Records new jobs in the created-time sets listJobs walks (bullmq-list-jobs.ts). `onlyNew`:
   * an id already there keeps its time (an idempotent enqueue of a job BullMQ keeps); otherwise
   * the id names a new job (its old one was removed) and takes the new time.
   */
  private async indexCreated(jobs: { id: string; name: string; createdAt: number }[], onlyNew = true): Promise<void> {
    if (!jobs.length) return;
    const pipeline = this.redis.pipeline();
    const mode = onlyNew ? ['NX'] : [];
    pipeline.zadd(this.keys.createdAll, ...mode, ...jobs.flatMap((job) => [job.createdAt, job.id]));
    const byName = new Map<string, (string | number)[]>();
    for (const job of jobs) byName.set(job.name, [...(byName.get(job.name) ?? []), job.createdAt, job.id]);
    for (const [name, members] of byName) pipeline.zadd(this.keys.createdByName(name), ...mode, ...members);
    await repliesOf(pipeline);
  }

  async getJob<Data = unknown, Result = unknown>(id: string): Promise<JobRecord<Data, Result> | null> {
    return (await this.call(() => this.fetchById(id))) as JobRecord<Data, Result> | null;
  }

  private async fetchById(id: string): Promise<JobRecord | null> {
    const name = await this.redis.hget(this.keys.index, id);
    return name ? this.fetchRecord(id, name) : null;
  }

  private async fetchRecord(id: string, name: string): Promise<JobRecord | null> {
    const queue = this.queueFor(name);
    const bullId = toBullId(id);
    const [job, { state, delayedUntil }, runFields] = await Promise.all([Job.fromId(queue, bullId), this.stateOf(queue, bullId), this.redis.hmget(queue.toKey(bullId), ...RUN_FIELDS)]);
    if (job) return jobToRecord(job, state, delayedUntil, runFields);
    return this.fetchCancelled(id);
  }

  /**
   * BullMQ's getJobState searches the wait list, linear in its length: ten thousand waiters on
   * a long queue made that quadratic. The finished sets are sorted and the active list is only
   * as long as the workers' concurrency, so these reads stay cheap; anything else is queued.
   * The delayed set's score is the due time (a retry's backoff included). MULTI makes the four
   * reads one snapshot.
   */
  private async stateOf(queue: Queue, bullId: string): Promise<{ state: JobState; delayedUntil: number | null }> {
    const k = queue.keys;
    const [completed, failed, active, delayed] = await repliesOf(
      this.redis.multi().zscore(k.completed, bullId).zscore(k.failed, bullId).lpos(k.active, bullId).zscore(k.delayed, bullId),
    );
    if (delayed !== null) return { state: 'delayed', delayedUntil: dueTimeOfDelayedScore(delayed as string) };
    const state = completed !== null ? 'completed' : failed !== null ? 'failed' : active !== null ? 'active' : 'queued';
    return { state, delayedUntil: null };
  }

  private async fetchCancelled(id: string): Promise<JobRecord | null> {
    const copy = await this.redis.hgetall(this.keys.cancelled(id));
    if (!copy.record) return null;
    const record = JSON.parse(copy.record) as JobRecord;
    return { ...record, state: 'cancelled', error: null, attempts: Number(copy.ats ?? record.attempts), finishedAt: Number(copy.cancelledOn) };
  }

  async cancel(id: string): Promise<CancelOutcome> {
    return this.call(async () => {
      const record = await this.fetchById(id);
      if (!record) return 'not_found';
      if (record.state === 'active') return this.cancelRunning(record);
      if (record.state !== 'queued' && record.state !== 'delayed') return 'not_cancellable';
      const queue = this.queueFor(record.name);
      const bullId = toBullId(id);
      const jobKey = queue.toKey(bullId);
      const { wait, paused, delayed, prioritized, events } = queue.keys;
      const cancelWaiting = () =>
        cancelJob(
          this.redis,
          { job: jobKey, wait, paused, delayed, prioritized, events, cancelled: this.keys.cancelled(id), cancelledByName: this.keys.cancelledByName(record.name), logs: `${jobKey}:logs` },
          { bullId, id, record: JSON.stringify(record) },
          this.retentionMs,
        );
      let outcome = await cancelWaiting();
      // A job its group's gate holds back is queued as well: handed back to BullMQ, it is cancelled there.
      if (outcome === -1 && record.group !== null && (await BullGroupGate.unpark(this.redis, queue, this.options.prefix, bullId, record.group))) outcome = await cancelWaiting();
      // It started between the read and the script: cancelled as a running job, as it now stands.
      if (outcome === -1) {
        const now = await this.fetchById(id);
        if (now?.state === 'active') return this.cancelRunning(now);
        return now ? 'not_cancellable' : 'not_found';
      }
      if (outcome !== 1) return outcome === 0 ? 'not_found' : 'not_cancellable';
      // A cancelled job no longer holds its key (the key script sees it gone): drop the key itself.
      if (record.key !== null) await releaseKey(this.redis, this.keys, { name: record.name, key: record.key, bullId }, 0);
      const cancelled = await this.fetchCancelled(id);
      if (cancelled) this.watchers.settle(cancelled);
      return 'cancelled';
    });
  }

  /** A job BullMQ has active: cancelled in Redis at once, its run stopped wherever it runs (bullmq-control.ts). */
  private async cancelRunning(record: JobRecord): Promise<CancelOutcome> {
    const outcome = await this.control.cancelActive(this.queueFor(record.name), record);
    if (outcome !== 1) return outcome === 0 ? 'not_found' : 'not_cancellable';
    this.stopRun(record.id);
    if (record.key !== null) await releaseKey(this.redis, this.keys, { name: record.name, key: record.key, bullId: toBullId(record.id) }, 0);
    const cancelled = await this.fetchCancelled(record.id);
    if (cancelled) this.watchers.settle(cancelled);
    return 'cancelling';
  }

  /** Stops the run of a cancelled job if this process runs it, or will as soon as its handler is called. */
  private stopRun(id: string): void {
    for (const registration of this.workers.all()) {
      for (const context of registration.running) {
        if (context.id === id) return context.cancel(id);
      }
    }
    if (!this.workers.running) return;
    const now = Date.now();
    this.cancelsAhead.set(id, now);
    // a cancel heard for a job another process runs is forgotten once no fetch of it can be pending
    for (const [heard, at] of this.cancelsAhead) {
      if (at > now - this.leaseMs) break;
      this.cancelsAhead.delete(heard);
    }
  }

  async waitForFinish<Data = unknown, Result = unknown>(id: string, timeoutMs: number): Promise<JobRecord<Data, Result>> {
    const record = await this.watchers.wait(id, timeoutMs, async () => {
      const name = await this.names.get(id);
      if (!name) return 'not_found';
      // Events are collected from before the read below, so a finish between the two is not missed.
      await this.hub.watch(name);
      const progress = await this.progressChecks.get(id);
      if (progress === undefined || progress === 'gone') return 'not_found';
      return (progress === 'finished' && (await this.records.get(id))) || 'waiting';
    });
    return record as JobRecord<Data, Result>;
  }

  /** Whether each job is finished (completed, failed, cancelled), not yet, or gone; one pipeline. */
  private async checkProgress(ids: string[]): Promise<Map<string, 'waiting' | 'finished' | 'gone'>> {
    const names = await this.redis.hmget(this.keys.index, ...ids);
    const pipeline = this.redis.pipeline();
    const asked: string[] = [];
    ids.forEach((id, i) => {
      const name = names[i];
      if (!name) return;
      const queue = this.queueFor(name);
      const bullId = toBullId(id);
      asked.push(id);
      pipeline.exists(queue.toKey(bullId)).zscore(queue.keys.completed, bullId).zscore(queue.keys.failed, bullId).exists(this.keys.cancelled(id));
    });
    const replies = await repliesOf(pipeline);
    const result = new Map<string, 'waiting' | 'finished' | 'gone'>();
    asked.forEach((id, i) => {
      const [exists, completed, failed, cancelled] = replies.slice(i * 4, i * 4 + 4);
      result.set(id, completed !== null || failed !== null || cancelled === 1 ? 'finished' : exists === 1 ? 'waiting' : 'gone');
    });
    return result;
  }

  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    const unsubscribe = this.watchers.listen(jobId, listener);
    this.call(() => this.redis.hget(this.keys.index, jobId))
      .then(async (name) => {
        if (name) await this.hub.watch(name);
      })
      .catch((error) => this.warn(error, 'subscribing to job events failed'));
    return unsubscribe;
  }

  observeRuns(observer: RunObserver): void {
    this.workers.observer = observer;
  }

  process<Data, Result>(name: string, handler: JobHandler<Data, Result>, options: WorkerOptions = {}): void {
    this.workers.register(name, handler, options, { groups: groupLimitsOf(options) });
  }

  async startWorkers(): Promise<void> {
    if (!this.workers.startAll()) return;
    this.control.listen(this.connect('blocking', 'workyard-cancels'), (id) => this.stopRun(id)).catch((error) => this.warn(error, 'listening for cancels failed'));
    this.sweeper.start((error) => this.warn(error, 'sweeping the job index failed'));
    this.scheduler.start();
  }

  private startWorker(registration: BullRegistration): void {
    // A processor declared with a third (signal) parameter makes BullMQ build an AbortController
    // for every job; shutdown aborts come from our own, made only when a handler asks for one.
    if (registration.groups) {
      registration.gate = new BullGroupGate(this.redis, this.queueFor(registration.name), this.options.prefix, registration.groups, this.leaseMs, (error) =>
        this.warn(error, `group gate of ${registration.name} failed`),
      );
      registration.gate.start();
    } else {
      BullGroupGate.releaseAll(this.redis, this.queueFor(registration.name), this.options.prefix, this.leaseMs).catch((error) => this.warn(error, `releasing parked jobs of ${registration.name} failed`));
    }
    const worker = new Worker(registration.name, (job, token) => this.runJob(registration, job, token), {
      connection: this.blocking(),
      prefix: this.options.prefix,
      concurrency: registration.concurrency,
      lockDuration: this.leaseMs,
      stalledInterval: this.options.stalledCheckMs ?? this.leaseMs,
      maxStalledCount: this.options.maxStalls ?? 1,
    });
    worker.on('error', (error) => this.warn(error, `worker ${registration.name} failed`));
    // A job whose lock could not be renewed may have been cancelled while its cancel message was lost.
    worker.on('lockRenewalFailed', (bullIds: string[]) => {
      for (const id of bullIds.map(fromBullId)) {
        this.control.wasCancelled(id).then((cancelled) => cancelled && this.stopRun(id), (error) => this.warn(error, 'checking a cancel failed'));
      }
    });
    // A key is freed keyTtlMs after its job finished (by default with the retention, when BullMQ
    // drops the job); 'failed' also fires for runs that will be retried, which have no finishedOn:
    // their due time is kept while BullMQ still knows it.
    worker.on('completed', (job) => {
      this.releaseKeyOf(job);
      this.tellFinished(job, 'completed');
    });
    worker.on('failed', (job) => {
      if (!job) return;
      if (job.finishedOn) {
        this.releaseKeyOf(job);
        this.tellFinished(job, 'failed');
      } else keepRetryDueTime(this.redis, this.queueFor(job.name), String(job.id)).catch((error) => this.warn(error, "keeping a retry's due time failed"));
    });
    registration.worker = worker;
  }

  /** The finish hook, after BullMQ moved the job (this event fires once the move succeeded). */
  private tellFinished(job: Job, state: FinishedJob['state']): void {
    const hook = this.options.onFinished;
    if (!hook) return;
    const finished: FinishedJob = {
      id: fromBullId(String(job.id)),
      name: job.name,
      state,
      result: state === 'completed' ? (job.returnvalue ?? null) : null,
      error: state === 'failed' ? (job.failedReason ?? null) : null,
      finishedAt: job.finishedOn ?? Date.now(),
    };
    hook([finished]).catch((error) => this.warn(error, 'the finish hook failed'));
  }

  private releaseKeyOf(job: Job): void {
    const { key, keyTtlMs } = workyardFieldsOf(job);
    if (key === undefined) return;
    releaseKey(this.redis, this.keys, { name: job.name, key, bullId: String(job.id) }, keyTtlMs ?? this.retentionMs).catch((error) =>
      this.warn(error, 'freeing a job key failed'),
    );
  }

  /** ctx.log of every running job: one function, not one per job */
  private readonly appendLog = (job: Job, message: string) => appendJobLog(this.redis, this.queueFor(job.name), job, message);

  private async runJob(registration: BullRegistration, job: Job, token: string | undefined): Promise<unknown> {
    // The hot path: nothing here costs a round trip (but a grouped job's gate), and little is allocated per job.
    const group = registration.gate ? workyardOptionsOf(job).group : null;
    // Refused a slot, the job was parked by the gate: BullMQ leaves a job alone after a WaitingError.
    if (group !== null && !(await registration.gate!.admit(job, token ?? '', group))) throw new WaitingError();
    const context = new BullJobContext(job, registration.name, this.options.timeoutMs, this.appendLog);
    this.workers.began(registration, context);
    const startedAt = Date.now();
    this.control.recordWait(registration.name, String(job.id), job.attemptsStarted, startedAt - context.runAt, startedAt);
    if (this.cancelsAhead.delete(context.id)) context.cancel(context.id);
    try {
      const run = { id: context.id, name: registration.name, attempt: context.attempt, trace: workyardFieldsOf(job).trace, runAt: context.runAt, timeoutMs: workyardOptionsOf(job).timeoutMs };
      const result = await runObserved(this.workers.observer, context, run, () => registration.handler(context));
      // cancelled in Redis (the job is gone from there) just after its handler returned
      if (context.cancelled) throw new WaitingError();
      return result ?? null;
    } catch (error) {
      // Cancelled: Redis holds it cancelled already, and BullMQ leaves a job alone after a WaitingError.
      if (context.cancelled) throw new WaitingError();
      const message = errorMessage(error);
      // Kept before BullMQ hears of the failure (and may remove the job): one round trip per failed run only.
      await recordFailedRun(this.redis, this.queueFor(registration.name), job, error, Date.now()).catch((failure) => this.warn(failure, 'keeping a failed run failed'));
      // BullMQ fails an UnrecoverableError at once, whatever attempts are left.
      if (isPermanentJobError(error)) throw new UnrecoverableError(message);
      // BullMQ's own 'failed' event only marks the last failure; subscribers also hear of each retry.
      if (willRetry(job.attemptsMade + 1, job.opts.attempts ?? 1, error)) {
        const events = this.queueFor(registration.name).keys.events;
        this.redis.xadd(events, 'MAXLEN', '~', 10_000, '*', 'event', RETRYING_EVENT, 'jobId', String(job.id), 'error', message).catch(() => {});
      }
      throw error instanceof Error && error.message ? error : new Error(message);
    } finally {
      this.workers.ended(registration, context);
      if (group !== null) registration.gate!.leave(String(job.id), group).catch((error) => this.warn(error, `group gate of ${registration.name} failed`));
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

  // list and filter (bullmq-list-jobs.ts)
  async listJobs(filter: JobFilter = {}): Promise<JobPage> {
    const checked = checkedJobFilter(filter);
    return this.call(() => listBullJobs({ redis: this.redis, keys: this.keys, queueFor: (name) => this.queueFor(name), fetchRecord: (id, name) => this.fetchRecord(id, name) }, checked));
  }

  // dead jobs (bullmq-attempts.ts)
  async retry(id: string): Promise<RetryOutcome> {
    return this.call(async () => {
      const name = await this.redis.hget(this.keys.index, id);
      return name ? retryBullJob(this.redis, this.keys, this.queueFor(name), toBullId(id)) : 'not_found';
    });
  }

  async retryFailed(filter: { name: string; failedAfter?: number }): Promise<number> {
    assertJobName(filter.name);
    if (filter.failedAfter !== undefined && !Number.isFinite(filter.failedAfter)) throw new RangeError('failedAfter must be a time in epoch milliseconds');
    const queue = this.queueFor(filter.name);
    const bullIds = await this.call(() => failedSince(this.redis, queue, filter.failedAfter ?? null));
    let retried = 0;
    // A few at a time: each is a few round trips; the deadline is per chunk.
    for (let i = 0; i < bullIds.length; i += 50) {
      const outcomes = await this.call(() => Promise.all(bullIds.slice(i, i + 50).map((bullId) => retryBullJob(this.redis, this.keys, queue, bullId))));
      retried += outcomes.filter((outcome) => outcome === 'retried').length;
    }
    return retried;
  }

  // job logs
  async getLogs(id: string): Promise<JobLogLine[] | null> {
    return this.call(async () => {
      const name = await this.redis.hget(this.keys.index, id);
      return name ? readJobLogs(this.redis, this.queueFor(name), id, this.keys.cancelled(id)) : null;
    });
  }

  // pause, resume, overview
  async pause(name: string): Promise<void> {
    const queue = this.queueFor(name);
    await this.call(async () => {
      await this.rememberName(name);
      await queue.pause();
    });
  }

  async resume(name: string): Promise<void> {
    const queue = this.queueFor(name);
    await this.call(() => queue.resume());
  }

  async overview(): Promise<QueueOverview[]> {
    return this.call(async () => {
      const [counts, names] = await Promise.all([countsOf(this.redis, this.keys, (name) => this.queueFor(name), this.retentionMs), this.redis.smembers(this.keys.names)]);
      const all = [...new Set([...names, ...this.workers.all().map((r) => r.name)])];
      return this.control.overview(all, counts, (name) => this.queueFor(name));
    });
  }

  // ---- end of #18 ----

  async counts(): Promise<JobCounts> {
    return this.call(() => countsOf(this.redis, this.keys, (name) => this.queueFor(name), this.retentionMs));
  }

  async listRecent(options: { limit?: number; name?: string } = {}): Promise<JobRecord[]> {
    const limit = Math.max(1, options.limit ?? 20);
    return this.call(() => recentOf(this.redis, this.keys, (name) => this.queueFor(name), limit, options.name, (id) => this.fetchCancelled(id)));
  }

  readonly bullmq = {
    queues: async (): Promise<Queue[]> => {
      const names = await this.call(() => this.redis.smembers(this.keys.names));
      return names.sort().map((name) => this.queueFor(name));
    },
  };

  async ping(): Promise<void> {
    await pingRedis(this.redis, this.options.timeoutMs);
  }

  async close(graceMs = 10_000): Promise<void> {
    if (!this.workers.beginClose()) return;
    await this.scheduler.stop(graceMs);
    this.sweeper.stop();
    for (const registration of this.workers.all()) registration.gate?.stop();
    this.watchers.stopPolling();
    const deadline = Date.now() + graceMs;
    const registrations = this.workers.all();
    // Stop taking jobs (BullMQ only stops fetching: no round trip), then give the running ones the
    // grace period; past it they are asked to stop: their locks lapse and another worker runs them
    // again once they count as stalled.
    await Promise.all(registrations.map((r) => r.worker?.pause(true).catch(() => {})));
    const drained = await this.workers.drain(deadline);
    // Closing in order takes round trips (QUIT, BullMQ's worker close), which wait for as long as
    // Redis does not answer: with Redis away they are skipped, and they get what is left of the
    // grace period (one dependency deadline at least) before every connection is dropped.
    const inOrder = this.redis.status === 'ready' && (await settlesWithin(this.closeInOrder(registrations, !drained), Math.max(deadline - Date.now(), this.options.timeoutMs)));
    if (!inOrder) {
      // A job BullMQ had fetched before the pause may start only now (Redis already showed it
      // active, but it was not running when the wait above looked): it had the rest of the grace
      // in BullMQ's close, and is asked to stop like the others.
      this.workers.stopAll();
      this.disconnect(registrations);
    }
    this.watchers.clear();
  }

  private async closeInOrder(registrations: BullRegistration[], force: boolean): Promise<void> {
    await Promise.all(registrations.map((r) => r.worker?.close(force).catch(() => {})));
    await this.hub.close();
    await this.control.close();
    if (this.control.subscription) await closeRedisClient(this.control.subscription);
    await Promise.all([...this.queues.values()].map((queue) => queue.close().catch(() => {})));
    await closeRedisClient(this.redis);
    if (this.blockingRedis) await closeRedisClient(this.blockingRedis);
  }

  /** Drops every connection at once (ioredis disconnect): nothing waits on Redis any more. */
  private disconnect(registrations: BullRegistration[]): void {
    for (const r of registrations) r.worker?.disconnect().catch(() => {});
    this.hub.disconnect();
    this.control.subscription?.disconnect();
    this.redis.disconnect();
    this.blockingRedis?.disconnect();
  }
}

/** What a job just added reads as: delayed until its run time, else queued. */
function stateOnAdd(opts: WorkyardJobsOptions): JobState {
  return (opts.delay ?? 0) > 0 ? 'delayed' : 'queued';
}
