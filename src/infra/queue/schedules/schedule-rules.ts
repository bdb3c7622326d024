// What a schedule is, checked, and when it is due: croner reads the expression in its time zone,
// so daylight-saving changes and month lengths are its business, not ours.
import { Cron } from 'croner';
import { type EnqueueOptions, InvalidScheduleError, type ScheduleRecord, type ScheduleSpec, assertJobName, errorMessage, maxAttemptsOf, priorityOf, timeoutOf } from '../contract.js';

export type ScheduleJobOptions = NonNullable<ScheduleSpec['job']['options']>;

/** A schedule as the stores keep it (data and options as JSON text). */
export interface StoredSchedule {
  id: string;
  cron: string;
  timezone: string;
  jobName: string;
  jobData: string;
  jobOptions: string;
  /** bumped by every replace: a run recorded against an older revision is refused */
  revision: number;
  /** when the current spec was set: its due times are those after it */
  specAt: number;
  createdAt: number;
  lastRunAt: number | null;
  lastJobId: string | null;
  fired: number;
}

/** What schedule() stores: a new spec (the stores keep createdAt, lastRunAt, lastJobId and fired of a replaced one). */
export type ScheduleSpecRow = Pick<StoredSchedule, 'id' | 'cron' | 'timezone' | 'jobName' | 'jobData' | 'jobOptions' | 'specAt'>;

export interface ScheduleStore {
  /** creates or replaces the spec, atomically; returns the schedule as stored */
  save(spec: ScheduleSpecRow): Promise<StoredSchedule>;
  remove(id: string): Promise<boolean>;
  list(): Promise<StoredSchedule[]>;
  get(id: string): Promise<StoredSchedule | null>;
  /**
   * Records the run of `dueAt` (lastRunAt, lastJobId, fired + 1) only if the schedule is still at
   * `revision` and its lastRunAt is still `previous`: of the processes that fired the same due
   * time, exactly one wins. Whether this one did.
   */
  recordRun(id: string, revision: number, previous: number | null, dueAt: number, jobId: string): Promise<boolean>;
}

const ID = /^[A-Za-z0-9._-]{1,128}$/;
const OPTION_NAMES = new Set(['attempts', 'backoffMs', 'priority', 'group', 'timeoutMs']);

/** The spec of schedule(id, spec), checked; throws an InvalidScheduleError naming the field. */
export function checkedSpec(id: string, spec: ScheduleSpec, now: number): ScheduleSpecRow {
  if (typeof id !== 'string' || !ID.test(id)) throw new InvalidScheduleError('id', "a schedule id is 1 to 128 letters, digits, '.', '_' or '-'");
  const timezone = spec?.timezone ?? 'UTC';
  checkTimezone(timezone);
  if (typeof spec.cron !== 'string') throw new InvalidScheduleError('cron', 'cron must be a string');
  const cron = spec.cron.trim().replace(/\s+/g, ' ');
  try {
    cronOf(cron, timezone);
  } catch (error) {
    throw new InvalidScheduleError('cron', `cron ${JSON.stringify(spec.cron)} is invalid: ${errorMessage(error)}`);
  }
  const job = spec.job;
  if (!job || typeof job !== 'object') throw new InvalidScheduleError('job.name', 'job must be an object with a name');
  try {
    assertJobName(job.name);
  } catch (error) {
    throw new InvalidScheduleError('job.name', errorMessage(error));
  }
  let jobData: string | undefined;
  try {
    jobData = JSON.stringify(job.data ?? null);
  } catch (error) {
    throw new InvalidScheduleError('job.data', `job data must be JSON: ${errorMessage(error)}`);
  }
  return { id, cron, timezone, jobName: job.name, jobData, jobOptions: JSON.stringify(checkedOptions(job.options ?? {})), specAt: now };
}

function checkTimezone(timezone: unknown): void {
  // Intl also takes offsets ('+05:30'), which are not IANA names and do not follow summer time.
  const invalid = () => new InvalidScheduleError('timezone', `timezone ${JSON.stringify(timezone)} is not an IANA time zone name (e.g. Europe/Paris)`);
  if (typeof timezone !== 'string' || !/^[A-Za-z]/.test(timezone)) throw invalid();
  // UTC, the default, needs no check: asking Intl would read ICU's time zone data (megabytes of RSS).
  if (timezone === 'UTC') return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalid();
  }
}

function checkedOptions(options: ScheduleJobOptions): ScheduleJobOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidScheduleError('job.options', 'job options must be an object');
  const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.has(name));
  if (unknown.length) throw new InvalidScheduleError('job.options', `job options ${unknown.join(', ')} are not allowed in a schedule`);
  try {
    const asEnqueue: EnqueueOptions = options;
    maxAttemptsOf(asEnqueue);
    priorityOf(asEnqueue);
    timeoutOf(asEnqueue);
    if (options.backoffMs !== undefined && (!Number.isInteger(options.backoffMs) || options.backoffMs < 0)) throw new RangeError('backoffMs must be a whole number ≥ 0');
    if (options.group !== undefined && typeof options.group !== 'string') throw new RangeError('group must be a string');
  } catch (error) {
    throw new InvalidScheduleError('job.options', errorMessage(error));
  }
  return options;
}

/** Five fields (minute precision) or six (a leading seconds field); a paused Cron only computes times. */
// A scheduler pass asks for every schedule's Cron two or three times a second: parsed once per
// expression and zone instead (a paused Cron holds no state its nextRun/previousRuns change).
const parsedCrons = new Map<string, Cron>();
const MAX_PARSED_CRONS = 1_000;

export function cronOf(cron: string, timezone: string): Cron {
  const cacheKey = `${timezone}\n${cron}`;
  let parsed = parsedCrons.get(cacheKey);
  if (!parsed) {
    // UTC as a fixed offset: croner then computes due times without Intl (see checkTimezone).
    parsed = new Cron(cron, { ...(timezone === 'UTC' ? { utcOffset: 0 } : { timezone }), mode: '5-or-6-parts', paused: true });
    if (parsedCrons.size >= MAX_PARSED_CRONS) parsedCrons.clear();
    parsedCrons.set(cacheKey, parsed);
  }
  return parsed;
}

/** The first due time strictly after `after` (epoch ms), null when there is none. */
export function dueAfter(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}

/** The last due time at or before `at`. */
export function lastDueAtOrBefore(cron: Cron, at: number): number | null {
  return cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? null;
}

/** Due times after this one are still to fire: the last recorded run, or when the spec was set. */
export function anchorOf(schedule: StoredSchedule): number {
  return Math.max(schedule.lastRunAt ?? Number.NEGATIVE_INFINITY, schedule.specAt);
}

/**
 * The job of one due time: the same id in every process, so that processes firing the same due
 * time enqueue one job (enqueue with a chosen id is idempotent).
 */
export function scheduledJobId(scheduleId: string, dueAt: number): string {
  return `${scheduleId}@${dueAt}`;
}

/** The due time a scheduled job's id names (the inverse of scheduledJobId), or null. */
export function dueAtOfJobId(jobId: string): number | null {
  const at = jobId.lastIndexOf('@');
  const dueAt = at < 0 ? Number.NaN : Number(jobId.slice(at + 1));
  return Number.isSafeInteger(dueAt) ? dueAt : null;
}

/**
 * The next due time as listSchedules shows it: the first after the anchor, or, when that has
 * passed without a worker to fire it, the last one passed (what a starting worker fires, once).
 */
export function nextRunOf(schedule: StoredSchedule, now: number): number | null {
  const cron = cronOf(schedule.cron, schedule.timezone);
  const first = dueAfter(cron, anchorOf(schedule));
  if (first === null || first > now) return first;
  return lastDueAtOrBefore(cron, now);
}

export function toScheduleRecord(schedule: StoredSchedule, now: number): ScheduleRecord {
  return {
    id: schedule.id,
    cron: schedule.cron,
    timezone: schedule.timezone,
    job: { name: schedule.jobName, data: JSON.parse(schedule.jobData), options: JSON.parse(schedule.jobOptions) },
    nextRunAt: nextRunOf(schedule, now),
    lastRunAt: schedule.lastRunAt,
    lastJobId: schedule.lastJobId,
    fired: schedule.fired,
    createdAt: schedule.createdAt,
  };
}
