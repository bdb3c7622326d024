// listJobs' filter, checked once for every driver: a bad value is a RangeError naming its field,
// so the HTTP layer and the CLI report the same thing whichever driver runs.
import { JOB_STATES, type JobFilter, type JobRecord, type JobState, type ListCursor, assertJobName, decodeListCursor, listLimitOf } from './contract.js';

export interface CheckedJobFilter {
  name: string | null;
  state: JobState | null;
  group: string | null;
  /** inclusive, epoch ms */
  createdAfter: number | null;
  /** exclusive, epoch ms */
  createdBefore: number | null;
  limit: number;
  /** the last job of the page before: this page starts strictly after it */
  cursor: ListCursor | null;
}

export function checkedJobFilter(filter: JobFilter): CheckedJobFilter {
  if (filter.name !== undefined) {
    try {
      assertJobName(filter.name);
    } catch {
      throw new RangeError(`name ${JSON.stringify(filter.name)} is not a job name`);
    }
  }
  if (filter.state !== undefined && !JOB_STATES.includes(filter.state)) throw new RangeError(`state must be one of ${JOB_STATES.join(', ')}`);
  if (filter.group !== undefined && (typeof filter.group !== 'string' || !filter.group)) throw new RangeError('group must be a non-empty string');
  for (const field of ['createdAfter', 'createdBefore'] as const) {
    const value = filter[field];
    if (value !== undefined && !Number.isFinite(value)) throw new RangeError(`${field} must be a time in epoch milliseconds`);
  }
  return {
    name: filter.name ?? null,
    state: filter.state ?? null,
    group: filter.group ?? null,
    createdAfter: filter.createdAfter ?? null,
    createdBefore: filter.createdBefore ?? null,
    limit: listLimitOf(filter),
    cursor: filter.cursor === undefined ? null : decodeListCursor(filter.cursor),
  };
}

/** Whether a job, as getJob shows it, passes the filter (the cursor and limit aside). */
export function matchesJobFilter(record: JobRecord, filter: CheckedJobFilter): boolean {
  return (
    (filter.name === null || record.name === filter.name) &&
    (filter.state === null || record.state === filter.state) &&
    (filter.group === null || record.group === filter.group) &&
    (filter.createdAfter === null || record.createdAt >= filter.createdAfter) &&
    (filter.createdBefore === null || record.createdAt < filter.createdBefore)
  );
}
