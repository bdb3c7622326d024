// What both queue drivers do in this process apart from storage: the handlers registered by job
// name, the jobs running now with their abort signals, and shutdown (stop taking jobs, give the
// running ones the grace period, then ask them to stop).
import { AppError, TimeoutError } from '../../errors.js';
import { settlesWithin } from '../deadline.js';
import { type JobHandler, JobCancelledError, type RunObserver, type WorkerOptions, assertJobName, timeoutErrorMessage } from './contract.js';
import { type TracedRun, traceJobRun } from './job-trace.js';

/** One job running in this process; a driver extends it with what it keeps per job. */
export class RunningJob {
  /** made on first use of the handler's signal (or at shutdown): most handlers never look at it */
  private abort?: AbortController;

  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    return this.abort.signal;
  }

  /** Asks the handler to stop (shutdown past the grace period). */
  stop(): void {
    this.abortWith(new AppError('internal_error', 'worker shutting down'));
  }

  /** Aborts the handler's signal with this reason, unless it was aborted before. */
  abortWith(reason: Error): void {
    if (!this.signal.aborted) this.abort!.abort(reason);
  }

  /** set once the job was cancelled while it ran: its outcome is not the handler's any more */
  private cancelReason?: JobCancelledError;
  private onCancel?: (reason: JobCancelledError) => void;

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  /** The job was cancelled (in this process or another): aborts the signal and ends runUntilCancelled at once. */
  cancel(jobId: string): void {
    if (this.cancelReason) return;
    this.cancelReason = new JobCancelledError(jobId);
    this.abortWith(this.cancelReason);
    this.onCancel?.(this.cancelReason);
  }

  /**
   * Runs the handler until it settles or the job is cancelled, whichever comes first: a handler
   * that ignores its signal does not hold its slot, and what it returns or throws later is dropped.
   */
  runUntilCancelled<Result>(run: () => Promise<Result>): Promise<Result> {
    if (this.cancelReason) return Promise.reject(this.cancelReason);
    return new Promise<Result>((resolve, reject) => {
      this.onCancel = reject;
      run().then(resolve, reject);
    });
  }
}

/** The error a run ends with when it passes its timeoutMs (not permanent: retried while attempts remain). */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(timeoutErrorMessage(timeoutMs));
  }
}

/**
 * Runs a handler within the job's timeoutMs (null: no limit). Past it, the handler's signal aborts
 * with a TimeoutError and the run rejects with a JobTimeoutError at once, whether or not the
 * handler heeds the signal: its late result or error is dropped.
 */
export function runWithinTimeout<Result>(job: RunningJob, timeoutMs: number | null, run: () => Promise<Result>): Promise<Result> {
  if (timeoutMs === null) return run();
  return new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => {
      job.abortWith(new TimeoutError(`the job ran past its timeout of ${timeoutMs} ms`));
      reject(new JobTimeoutError(timeoutMs));
    }, timeoutMs);
    run().then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * One run as both drivers run it: traced (when tracing is on), within its timeout, until cancelled;
 * the observer is told of the outcome the driver records, not of whatever the handler did later.
 */
export async function runObserved<Result>(
  observer: RunObserver | undefined,
  job: RunningJob,
  run: TracedRun & { runAt: number; timeoutMs: number | null },
  handler: () => Promise<Result>,
): Promise<Result> {
  if (!observer) return traceJobRun(run, () => runWithinTimeout(job, run.timeoutMs, () => job.runUntilCancelled(handler)));
  observer.started(run.name, run.runAt);
  const started = performance.now();
  try {
    const result = await traceJobRun(run, () => runWithinTimeout(job, run.timeoutMs, () => job.runUntilCancelled(handler)));
    observer.ended(run.name, (performance.now() - started) / 1000, undefined, () => job.signal);
    return result;
  } catch (error) {
    observer.ended(run.name, (performance.now() - started) / 1000, error, () => job.signal);
    throw error;
  }
}

export interface Registration<Job extends RunningJob> {
  readonly name: string;
  readonly handler: JobHandler<any, any>;
  readonly concurrency: number;
  /** jobs of this name running in this process */
  readonly running: Set<Job>;
}

export class WorkerCore<Job extends RunningJob, Reg extends Registration<Job>> {
  private readonly registrations = new Map<string, Reg>();
  private runningCount = 0;
  /** resolved once no job runs (close waits on them) */
  private idle: (() => void)[] = [];
  running = false;
  closed = false;
  /** told of every run's outcome (JobQueue.observeRuns) */
  observer?: RunObserver;

  /** `start` begins taking jobs of one name: at startWorkers(), or at once for a name registered later. */
  constructor(private readonly start: (registration: Reg) => void) {}

  register(name: string, handler: JobHandler<any, any>, options: WorkerOptions, own: Omit<Reg, keyof Registration<Job>>): void {
    assertJobName(name);
    if (this.registrations.has(name)) throw new Error(`a worker for ${name} is already registered`);
    const registration = { name, handler, concurrency: Math.max(1, options.concurrency ?? 1), running: new Set(), ...own } as Reg;
    this.registrations.set(name, registration);
    if (this.running) this.start(registration);
  }

  /** startWorkers(): false if already started or closed. */
  startAll(): boolean {
    if (this.running || this.closed) return false;
    this.running = true;
    for (const registration of this.registrations.values()) this.start(registration);
    return true;
  }

  get(name: string): Reg | undefined {
    return this.registrations.get(name);
  }

  all(): Reg[] {
    return [...this.registrations.values()];
  }

  began(registration: Reg, job: Job): void {
    registration.running.add(job);
    this.runningCount++;
  }

  ended(registration: Reg, job: Job): void {
    if (!registration.running.delete(job)) return;
    if (--this.runningCount === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** close(): false if already closed; from now on no job is taken. */
  beginClose(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.running = false;
    return true;
  }

  /** Waits for the running jobs until `deadline` (epoch ms); past it, asks them to stop. Whether they all ended. */
  async drain(deadline: number): Promise<boolean> {
    const idle = this.runningCount === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idle.push(resolve));
    const drained = await settlesWithin(idle, deadline - Date.now());
    if (!drained) this.stopAll();
    return drained;
  }

  /** Asks every running handler to stop: their jobs are left to the backend's stall recovery. */
  stopAll(): void {
    for (const registration of this.registrations.values()) for (const job of registration.running) job.stop();
  }
}
