// Fires the schedules of one queue, in a process that runs workers. Every such process fires
// every schedule; exactly one job per due time comes of it because (1) the job id is the same in
// every process for one due time (scheduledJobId), so the queue's idempotent enqueue stores it
// once, and (2) the run is recorded by a compare-and-set of the schedule's lastRunAt (and its
// revision), which one process wins: only it counts the run. The job is enqueued before the run
// is recorded, so a process dying in between loses nothing: the next one enqueues the same id
// again (a no-op if it exists) and records the run.
//
// Timing: a pass reads every schedule, fires what is due, and sleeps until the next due time, or
// refreshMs at most, so schedules changed by other processes are seen within refreshMs.
import { settlesWithin } from '../../deadline.js';
import { type EnqueueOptions, type JobQueue, type ScheduleRecord, type ScheduleSpec, errorMessage } from '../contract.js';
import { withoutJobTrace } from '../job-trace.js';
import {
  type ScheduleStore,
  type StoredSchedule,
  anchorOf,
  checkedSpec,
  cronOf,
  dueAfter,
  lastDueAtOrBefore,
  scheduledJobId,
  toScheduleRecord,
} from './schedule-rules.js';

export interface SchedulerOptions {
  /** how often other processes' changes are looked for (default 1 s) */
  refreshMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

/**
 * Due times a running scheduler fell behind on by less than this fire one by one (a slow pass, a
 * busy database); older ones, and those missed before this process started, fire once: the last.
 */
const CATCH_UP_MS = 5_000;
/** a pass never fires one schedule more often than this (a bound, should its runs keep being refused) */
const MAX_FIRES_PER_PASS = 20;

export class Scheduler {
  private running = false;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | null = null;
  private passAgain = false;
  private readonly refreshMs: number;

  constructor(
    private readonly store: ScheduleStore,
    private readonly queue: Pick<JobQueue, 'enqueue'>,
    private readonly options: SchedulerOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 1_000;
  }

  async schedule(id: string, spec: ScheduleSpec): Promise<ScheduleRecord> {
    const saved = await this.store.save(checkedSpec(id, spec, Date.now()));
    this.wake();
    return toScheduleRecord(saved, Date.now());
  }

  async unschedule(id: string): Promise<boolean> {
    const removed = await this.store.remove(id);
    if (removed) this.wake();
    return removed;
  }

  async list(): Promise<ScheduleRecord[]> {
    const now = Date.now();
    return (await this.store.list()).sort((a, b) => a.id.localeCompare(b.id)).map((schedule) => toScheduleRecord(schedule, now));
  }

  /** startWorkers(): from now on this process fires schedules. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.wake();
  }

  /** close(): no pass starts any more; the one in flight is waited for, up to waitMs. */
  async stop(waitMs: number): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    if (this.passing) await settlesWithin(this.passing, waitMs);
  }

  /** A pass now (or right after the one in flight). */
  private wake(): void {
    if (!this.running) return;
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.passing = this.pass().finally(() => {
      this.passing = null;
      if (this.passAgain) {
        this.passAgain = false;
        this.wake();
      }
    });
  }

  private async pass(): Promise<void> {
    let wakeAt = Date.now() + this.refreshMs;
    try {
      const schedules = await this.store.list();
      const current = await Promise.all(schedules.map((schedule) => this.fireDue(schedule)));
      const now = Date.now();
      current.forEach((schedule, i) => {
        const next = schedule && dueAfter(cronOf(schedule.cron, schedule.timezone), anchorOf(schedule));
        if (next == null) return;
        if (next > now) wakeAt = Math.min(wakeAt, next);
        // A time that came due while this pass fired the one before goes at once; one that is
        // due because firing it failed (logged) waits for the refresh, so a failure cannot spin.
        else if (schedule!.lastRunAt !== schedules[i].lastRunAt) wakeAt = now;
      });
    } catch (error) {
      this.options.log?.warn({ err: error }, 'reading schedules failed; will retry');
    }
    if (!this.running) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, wakeAt - Date.now()));
    this.timer.unref();
  }

  /** Fires the schedule's due times (see dueNow); returns it as it stands after, null if gone. */
  private async fireDue(schedule: StoredSchedule): Promise<StoredSchedule | null> {
    let current: StoredSchedule | null = schedule;
    try {
      for (let fired = 0; current && fired < MAX_FIRES_PER_PASS && this.running; fired++) {
        const dueAt = this.dueNow(current, Date.now());
        if (dueAt === null) break;
        const jobId = scheduledJobId(current.id, dueAt);
        const options: EnqueueOptions = { ...JSON.parse(current.jobOptions), jobId };
        // A scheduled job starts a trace of its own, whatever request last woke this pass.
        const { jobName, jobData } = current;
        await withoutJobTrace(() => this.queue.enqueue(jobName, JSON.parse(jobData), options));
        if (await this.store.recordRun(current.id, current.revision, current.lastRunAt, dueAt, jobId)) {
          current = { ...current, lastRunAt: dueAt, lastJobId: jobId, fired: current.fired + 1 };
        } else {
          // Another process recorded this run (or the schedule changed): go on from what it wrote.
          current = await this.store.get(current.id);
        }
      }
    } catch (error) {
      this.options.log?.warn({ err: error, schedule: schedule.id, message: errorMessage(error) }, 'firing a schedule failed; will retry');
    }
    return current;
  }

  /**
   * The due time to fire now, or null. Normally the first after the anchor; but when that one was
   * missed while no worker ran (before this process started, or longer ago than CATCH_UP_MS), the
   * last one passed, so that missed times fire once, not once each.
   */
  private dueNow(schedule: StoredSchedule, now: number): number | null {
    const cron = cronOf(schedule.cron, schedule.timezone);
    const first = dueAfter(cron, anchorOf(schedule));
    if (first === null || first > now) return null;
    if (first >= this.startedAt && first >= now - CATCH_UP_MS) return first;
    return lastDueAtOrBefore(cron, now) ?? first;
  }
}
