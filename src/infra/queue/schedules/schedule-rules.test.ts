// The pure parts of schedules: due times in a time zone, the anchor a replace or a run sets, what
// listSchedules shows for a time missed with no worker, and the job id of a due time.
import { describe, expect, it } from 'vitest';
import { InvalidScheduleError } from '../contract.js';
import { type StoredSchedule, checkedSpec, cronOf, dueAfter, dueAtOfJobId, lastDueAtOrBefore, nextRunOf, scheduledJobId } from './schedule-rules.js';

const at = (iso: string) => Date.parse(iso);

function stored(overrides: Partial<StoredSchedule>): StoredSchedule {
  return { id: 's', cron: '* * * * * *', timezone: 'UTC', jobName: 'j', jobData: 'null', jobOptions: '{}', revision: 1, specAt: 0, createdAt: 0, lastRunAt: null, lastJobId: null, fired: 0, ...overrides };
}

describe('schedule rules', () => {
  it('due times follow the time zone, summer time included', () => {
    const paris = cronOf('0 9 * * *', 'Europe/Paris');
    expect(dueAfter(paris, at('2026-07-01T00:00:00Z'))).toBe(at('2026-07-01T07:00:00Z'));
    expect(dueAfter(paris, at('2026-12-01T00:00:00Z'))).toBe(at('2026-12-01T08:00:00Z'));
    // strictly after: a due time is never found again from itself
    const everySecond = cronOf('* * * * * *', 'UTC');
    expect(dueAfter(everySecond, at('2026-12-01T00:00:05Z'))).toBe(at('2026-12-01T00:00:06Z'));
    expect(lastDueAtOrBefore(everySecond, at('2026-12-01T00:00:05Z'))).toBe(at('2026-12-01T00:00:05Z'));
    expect(lastDueAtOrBefore(everySecond, at('2026-12-01T00:00:05.999Z'))).toBe(at('2026-12-01T00:00:05Z'));
  });

  it('nextRunAt: the first due time after the last run or the spec, or the last one missed', () => {
    const now = at('2026-12-01T00:00:10.500Z');
    expect(nextRunOf(stored({ specAt: at('2026-12-01T00:00:10.200Z') }), now)).toBe(at('2026-12-01T00:00:11Z'));
    expect(nextRunOf(stored({ specAt: 0, lastRunAt: at('2026-12-01T00:00:10Z') }), now)).toBe(at('2026-12-01T00:00:11Z'));
    // missed since 00:00:03 with no worker: a starting worker fires 00:00:10, once
    expect(nextRunOf(stored({ specAt: at('2026-12-01T00:00:02.100Z') }), now)).toBe(at('2026-12-01T00:00:10Z'));
    expect(nextRunOf(stored({ cron: '0 0 30 2 *' }), now)).toBeNull();
  });

  it('the job id of a due time names it', () => {
    const due = at('2026-12-01T00:00:10Z');
    expect(dueAtOfJobId(scheduledJobId('nightly.report-1', due))).toBe(due);
    expect(dueAtOfJobId('not-scheduled')).toBeNull();
  });

  it('a spec is normalised; options outside the allowed ones are refused', () => {
    expect(checkedSpec('a', { cron: ' 0  9 * * * ', job: { name: 'j' } }, 5)).toEqual({ id: 'a', cron: '0 9 * * *', timezone: 'UTC', jobName: 'j', jobData: 'null', jobOptions: '{}', specAt: 5 });
    for (const options of [{ attempts: 0 }, { priority: 11 }, { timeoutMs: -1 }, { jobId: 'x' }]) {
      expect(() => checkedSpec('a', { cron: '* * * * *', job: { name: 'j', options: options as never } }, 0)).toThrow(InvalidScheduleError);
    }
  });
});
