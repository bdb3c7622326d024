// What an operator does to the SQL queue's jobs (#18): list them newest first, page by page, and
// queue dead ones again. Each is one statement. Listing reads the index on (created_at, id), or on
// (name, created_at, id) with a name: the page starts after the cursor's row in index order and
// stops after limit + 1 rows that pass the other filters (the one more says whether a page follows).
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type JobPage, encodeListCursor } from './contract.js';
import type { CheckedJobFilter } from './job-filter.js';
import { type JobRow, type QueueTables, rowToRecord } from './sql-queue-store.js';

/** The state as readers see it (see shownState in sql-queue-store.ts), with the states as literals so that the partial indexes may serve. */
function shownStateIs(state: NonNullable<CheckedJobFilter['state']>, now: number): RawBuilder<unknown> {
  if (state === 'queued') return sql`(state = 'queued' or (state = 'delayed' and run_at <= ${now}))`;
  if (state === 'delayed') return sql`(state = 'delayed' and run_at > ${now})`;
  return sql`state = ${sql.lit(state)}`;
}

export async function listJobRows(db: Kysely<QueueTables>, filter: CheckedJobFilter, now: number): Promise<JobPage> {
  const conditions: RawBuilder<unknown>[] = [];
  if (filter.name !== null) conditions.push(sql`name = ${filter.name}`);
  if (filter.state !== null) conditions.push(shownStateIs(filter.state, now));
  if (filter.group !== null) conditions.push(sql`job_group = ${filter.group}`);
  if (filter.createdAfter !== null) conditions.push(sql`created_at >= ${Math.ceil(filter.createdAfter)}`);
  if (filter.createdBefore !== null) conditions.push(sql`created_at < ${Math.ceil(filter.createdBefore)}`);
  if (filter.cursor !== null) conditions.push(sql`(created_at, id) < (${filter.cursor.createdAt}, ${filter.cursor.id})`);
  const where = conditions.length ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  const { rows } = await sql<JobRow>`select * from queue_jobs ${where} order by created_at desc, id desc limit ${filter.limit + 1}`.execute(db);
  const jobs = rows.slice(0, filter.limit).map((row) => rowToRecord(row, now));
  const last = jobs[jobs.length - 1];
  return { jobs, nextCursor: rows.length > filter.limit ? encodeListCursor({ createdAt: last.createdAt, id: last.id }) : null };
}

/**
 * Failed jobs (one by id, or those of a name that failed at or after `failedAfter`) are queued
 * again, due now: their runs so far are kept (attempts counts on, the history stays) and
 * attempts_before_retry makes max_attempts runs more. Two callers at once retry each job once:
 * the state is checked in the statement (PostgreSQL re-reads a row another update just changed).
 * The job keeps its key if no other job took it meanwhile (held_key is null then), and holds it
 * while it waits and runs (finished_at cleared: no TTL runs out).
 */
export async function retryFailedRows(db: Kysely<QueueTables>, which: { id: string } | { name: string; failedAfter: number | null }, now: number): Promise<Pick<JobRow, 'id' | 'name'>[]> {
  const where = 'id' in which
    ? sql`id = ${which.id} and state = 'failed'`
    : sql`name = ${which.name} and state = 'failed'${which.failedAfter === null ? sql`` : sql` and finished_at >= ${Math.ceil(which.failedAfter)}`}`;
  const { rows } = await sql<Pick<JobRow, 'id' | 'name'>>`
    update queue_jobs set state = 'queued', run_at = ${now}, error = null, stack = null, result = null, finished_at = null,
      attempts_before_retry = attempts, stalls = 0, lease_until = null, locked_by = null
    where ${where}
    returning id, name`.execute(db);
  return rows;
}
