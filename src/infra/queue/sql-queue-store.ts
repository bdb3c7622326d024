// The SQL queue's statements, apart from the driver logic that uses them (as BullMQ keeps its Lua
// scripts apart from its classes). One text for SQLite and PostgreSQL, but for row locking.
import { type Generated, type Insertable, type Kysely, type RawBuilder, sql } from 'kysely';
import { chunksOf, insertReturningIds, valuesPaddedToPowerOfTwo } from '../db/chunks.js';
import type { SqlDialect } from '../db/database.js';
import { RowInsert } from '../db/row-insert.js';
import type { FinishHook, FinishedJob, JobCounts, JobRecord, JobState, KeyMode } from './contract.js';
import { JOB_STATES, PRIORITY_DEFAULT } from './contract.js';
import { type KeyedEnqueueResult, enqueueKeyed } from './sql-queue-keys.js';
import { attemptHistory, parseStoredAttempts } from './attempt-history.js';

export interface JobRow {
  id: string;
  name: string;
  data: string;
  state: JobState;
  progress: string;
  result: string | null;
  error: string | null;
  /** runs started, stalled ones included */
  attempts: number;
  /** runs whose worker stopped renewing the lease (died or hung) */
  stalls: number;
  max_attempts: number;
  backoff_ms: number;
  /** when it is, or was last, due (epoch ms): a `delayed` job becomes `queued` at this time */
  run_at: number;
  /** 1 (first) to 10 (last) */
  priority: number;
  timeout_ms: number | null;
  job_group: string | null;
  /** the key the job was enqueued with */
  job_key: string | null;
  /** the same while the job holds it; null once the key went to a newer job or expired */
  held_key: string | null;
  key_ttl_ms: number | null;
  /** the W3C trace context the job's runs continue (job-trace.ts), as JSON; null when tracing was off */
  trace: string | null;
  lease_until: number | null;
  locked_by: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** the runs that ended failed or stalled, as comma-separated JSON AttemptRecords (attempt-history.ts) */
  attempt_history: string | null;
  /** the stack of the last failed run, trimmed */
  stack: string | null;
  /** runs started before the last retry() of the job (0: never retried): its attempts count from there */
  attempts_before_retry: number;
}

export type QueueTables = {
  // a new job starts with these at their defaults
  queue_jobs: Omit<JobRow, 'progress' | 'attempts' | 'stalls' | 'priority' | 'attempt_history' | 'stack' | 'attempts_before_retry'> & {
    progress: Generated<string>;
    attempts: Generated<number>;
    stalls: Generated<number>;
    priority: Generated<number>;
    attempt_history: Generated<string | null>;
    stack: Generated<string | null>;
    attempts_before_retry: Generated<number>;
  };
};

/**
 * What a worker needs of a job it claimed, to run it and record its outcome. Every column a claim
 * returns is decoded for every job, so the claim returns these only; a waiter's record is read
 * from the table once the outcome is written.
 */
export type ClaimedRow = Pick<JobRow, 'id' | 'name' | 'data' | 'attempts' | 'stalls' | 'attempts_before_retry' | 'max_attempts' | 'backoff_ms' | 'run_at' | 'timeout_ms' | 'trace'>;

export type NewJobRow = Pick<
  JobRow,
  'id' | 'name' | 'data' | 'state' | 'max_attempts' | 'backoff_ms' | 'run_at' | 'priority' | 'timeout_ms' | 'job_group' | 'job_key' | 'held_key' | 'key_ttl_ms' | 'created_at' | 'trace'
>;

/** The row of a job just inserted, as the database now holds it (the columns a new row leaves at their defaults). */
export function insertedRow(row: NewJobRow): JobRow {
  return {
    ...row, progress: '0', result: null, error: null, attempts: 0, stalls: 0, lease_until: null, locked_by: null, started_at: null, finished_at: null,
    attempt_history: null, stack: null, attempts_before_retry: 0,
  };
}

/**
 * The state a job is in for its readers: a delayed job whose run time has come is due, so it is
 * queued, also before a worker's claim has promoted its row (no worker of its name may be running).
 */
function shownState(row: JobRow, now: number): JobState {
  return row.state === 'delayed' && Number(row.run_at) <= now ? 'queued' : row.state;
}

export function rowToRecord(row: JobRow, now = Date.now()): JobRecord {
  const state = shownState(row, now);
  const startedAt = row.started_at === null ? null : Number(row.started_at);
  const finishedAt = row.finished_at === null ? null : Number(row.finished_at);
  return {
    id: row.id,
    name: row.name,
    data: JSON.parse(row.data),
    state,
    progress: JSON.parse(row.progress),
    result: row.result === null ? null : JSON.parse(row.result),
    error: row.error,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    priority: Number(row.priority),
    runAt: Number(row.run_at),
    timeoutMs: row.timeout_ms === null ? null : Number(row.timeout_ms),
    group: row.job_group,
    key: row.job_key,
    createdAt: Number(row.created_at),
    startedAt,
    finishedAt,
    // A job fails only with no attempts left (a run that may be retried leaves it queued or delayed).
    dead: row.state === 'failed',
    // the stack goes with the error it explains: a job run again or completed shows neither
    stack: row.error === null ? null : (row.stack ?? null),
    history: attemptHistory(parseStoredAttempts(row.attempt_history ?? null), { state, attempts: Number(row.attempts), startedAt, finishedAt, error: row.error }),
  };
}

/**
 * A new row without the columns a plain job leaves at their defaults: every value bound costs the
 * bulk enqueue time (building and binding it), and plain jobs are most jobs. A nullable column is
 * left out per row; the priority only when the whole statement has the default, since a value
 * missing from some rows of a multi-row insert is written as NULL on SQLite, not as the default.
 */
function withoutDefaults(row: NewJobRow, defaultPriority: boolean): Insertable<QueueTables['queue_jobs']> {
  const { priority, timeout_ms, job_group, job_key, held_key, key_ttl_ms, trace, ...required } = row;
  const present: Partial<NewJobRow> = defaultPriority ? {} : { priority };
  if (timeout_ms !== null) present.timeout_ms = timeout_ms;
  if (job_group !== null) present.job_group = job_group;
  if (job_key !== null) present.job_key = job_key;
  if (held_key !== null) present.held_key = held_key;
  if (key_ttl_ms !== null) present.key_ttl_ms = key_ttl_ms;
  if (trace !== null) present.trace = trace;
  return { ...required, ...present };
}

/**
 * The insert of plain new jobs (fresh ids, no timeout, group, key or trace), with the priority
 * column or without, per dialect; its SQL text is built once per row count. Kysely's builder
 * walked a node per value on every call: ~2 µs a job of the enqueue's main thread (POST
 * /feedback/async's profile). Shared by every store: one is made per gate transaction.
 */
const PLAIN_COLUMNS = ['id', 'name', 'data', 'state', 'max_attempts', 'backoff_ms', 'run_at', 'created_at'] as const;
const plainInserts = Object.fromEntries(
  (['sqlite', 'postgres'] as const).map((dialect) => [
    dialect,
    { defaultPriority: new RowInsert<NewJobRow>(dialect, 'queue_jobs', PLAIN_COLUMNS), withPriority: new RowInsert<NewJobRow>(dialect, 'queue_jobs', [...PLAIN_COLUMNS, 'priority']) },
  ]),
) as Record<SqlDialect, { defaultPriority: RowInsert<NewJobRow>; withPriority: RowInsert<NewJobRow> }>;
const isPlain = (row: NewJobRow) => row.timeout_ms === null && row.job_group === null && row.held_key === null && row.job_key === null && row.key_ttl_ms === null && row.trace === null;

// Outcomes per UPDATE: 8 values each, 512 rows stay far below both dialects' limits.
const FINISH_CHUNK = 512;

export class SqlQueueStore {
  constructor(
    private readonly db: Kysely<QueueTables>,
    private readonly dialect: SqlDialect,
    /** told of jobs that ended for good, in the finishing transaction */
    private readonly onFinished?: FinishHook,
  ) {}

  /**
   * Inserts the rows, skipping ids that exist; returns the ids that were new. `idsAreNew` when no
   * row's id was chosen by the caller (each is a fresh time-ordered UUID): then there is no
   * conflict to skip, and the statement asks for no ids back — on SQLite the ON CONFLICT …
   * RETURNING form took about 1.5 times as long a row (5.8–8.6 against 4.7–5.5 µs, same table and
   * indexes), and the enqueue of POST /feedback/async is this statement.
   */
  insert(rows: NewJobRow[], idsAreNew: boolean): Promise<Set<string>> {
    return insertReturningIds(rows, async (chunk) => {
      const defaultPriority = chunk.every((row) => row.priority === PRIORITY_DEFAULT);
      if (idsAreNew && chunk.every(isPlain)) {
        const plain = plainInserts[this.dialect];
        await (defaultPriority ? plain.defaultPriority : plain.withPriority).execute(this.db, chunk);
        return chunk.map((row) => row.id);
      }
      const values = chunk.map((row) => withoutDefaults(row, defaultPriority));
      const insert = this.db.insertInto('queue_jobs').values(values);
      if (idsAreNew) {
        await insert.execute();
        return chunk.map((row) => row.id);
      }
      return (await insert.onConflict((oc) => oc.column('id').doNothing()).returning('id').execute()).map((row) => row.id);
    });
  }

  /** A keyed job: see sql-queue-keys.ts. */
  enqueueKeyed(row: NewJobRow & { held_key: string }, mode: KeyMode, now: number): Promise<KeyedEnqueueResult> {
    return enqueueKeyed(this.db, row, mode, now);
  }

  async get(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('queue_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getMany(ids: string[]): Promise<JobRow[]> {
    if (!ids.length) return [];
    return this.db.selectFrom('queue_jobs').selectAll().where('id', 'in', ids).execute();
  }

  async getFinished(ids: string[]): Promise<JobRow[]> {
    if (!ids.length) return [];
    return this.db
      .selectFrom('queue_jobs')
      .selectAll()
      .where('id', 'in', ids)
      .where('state', 'in', ['completed', 'failed', 'cancelled'])
      .execute();
  }

  /**
   * Takes up to `limit` due jobs of one name for this worker, atomically across processes: lower
   * priority numbers first, then by due time (FIFO within a priority). Queued jobs are all due
   * (a job waiting for its run time is `delayed` until promoteDue), so the claim reads the
   * queued index (name, priority, run_at, created_at) in order and stops at `limit`.
   *
   * This is the one claim statement. A per-group limit goes into `due`, as one more condition on
   * the rows it may take (for example `and (job_group is null or job_group not in (…groups at
   * their limit…))`, or a `not exists` on the active jobs of the row's group); the ordering and
   * the locking around it stay as they are.
   *
   * `chosen`: a condition on queue_jobs that picks the rows instead (the group gate's, in
   * sql-queue-groups.ts, which ranks jobs within their groups and so cannot lock its rows).
   */
  async claim(name: string, limit: number, workerId: string, now: number, leaseMs: number, chosen?: RawBuilder<unknown>): Promise<ClaimedRow[]> {
    const due = sql`select id from queue_jobs where name = ${name} and state = 'queued'
      order by priority, run_at, created_at limit ${limit}`;
    // PostgreSQL: SKIP LOCKED lets workers on other machines claim other rows instead of waiting
    // on these, and `= any(array(…))` makes the ids a value the planner looks up by primary key
    // (with `in (…)` it hashes a scan of the whole table, once per claim). SQLite has one writer
    // at a time, so the statement is atomic there as it stands.
    const which = chosen ?? (this.dialect === 'postgres' ? sql`id = any(array(${due} for update skip locked))` : sql`id in (${due})`);
    const result = await sql<ClaimedRow>`
      update queue_jobs set state = 'active', attempts = attempts + 1, started_at = ${now},
        lease_until = ${now + leaseMs}, locked_by = ${workerId}, error = null
      where ${which} and not exists (select 1 from queue_pauses where queue_pauses.name = ${name})
      returning id, name, data, attempts, stalls, attempts_before_retry, max_attempts, backoff_ms, run_at, timeout_ms, trace`.execute(this.db);
    return result.rows;
  }

  /**
   * Delayed jobs of this name that are due become queued, to be claimed in priority order with
   * the others. Returns the run time of the next delayed job (null: none), so the worker can wake
   * for it. Both statements read the partial index of delayed jobs.
   */
  async promoteDue(name: string, now: number): Promise<number | null> {
    await sql`update queue_jobs set state = 'queued' where name = ${name} and state = 'delayed' and run_at <= ${now}`.execute(this.db);
    const row = await this.db
      .selectFrom('queue_jobs')
      .select((eb) => eb.fn.min('run_at').as('next'))
      .where('name', '=', name)
      .where('state', '=', sql.lit('delayed'))
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? null : Number(row.next);
  }

  async extendLeases(workerId: string, ids: string[], leaseUntil: number): Promise<void> {
    if (!ids.length) return;
    await this.db
      .updateTable('queue_jobs')
      .set({ lease_until: leaseUntil })
      .where('locked_by', '=', workerId)
      .where('state', '=', 'active')
      .where('id', 'in', ids)
      .execute();
  }

  /**
   * Finishes many jobs with one statement per chunk (UPDATE … FROM VALUES, on both dialects).
   * Each row is guarded by the lease holder, so a worker that lost its lease (and whose job runs
   * again elsewhere) cannot overwrite the outcome. Returns the ids that were applied.
   */
  async finish(outcomes: FinishOutcome[], workerId: string): Promise<Map<string, string>> {
    const hook = this.onFinished;
    if (!hook) return this.finishIn(this.db, outcomes, workerId);
    return this.db.transaction().execute(async (trx) => {
      const applied = await this.finishIn(trx, outcomes, workerId);
      const finished: FinishedJob[] = [];
      for (const o of outcomes) {
        const name = applied.get(o.id);
        if (name === undefined || (o.state !== 'completed' && o.state !== 'failed')) continue;
        finished.push({ id: o.id, name, state: o.state, result: o.result === null ? null : JSON.parse(o.result), error: o.error, finishedAt: o.finishedAt ?? Date.now() });
      }
      if (finished.length) await hook(finished, trx);
      return applied;
    });
  }

  /** finish() on `db` (the store's, or a transaction); the applied ids, with their job names. */
  private async finishIn(db: Kysely<QueueTables>, outcomes: FinishOutcome[], workerId: string): Promise<Map<string, string>> {
    const applied = new Map<string, string>();
    // Only the lease holder's row is updated (locked_by is set by a claim and cleared by a
    // finish or a stall recovery, so it also means the job is active). PostgreSQL: naming the
    // state would steer the planner to the partial index of active jobs, whose dead entries
    // (every job that was active since the last vacuum) it walks, joined row by row; the ids as
    // an array make it look the rows up by primary key.
    const guard = (chunk: FinishOutcome[]) =>
      this.dialect === 'postgres'
        ? sql`queue_jobs.id = any(cast(${chunk.map((o) => o.id)} as text[])) and queue_jobs.locked_by = ${workerId}`
        : sql`queue_jobs.locked_by = ${workerId} and queue_jobs.state = 'active'`;
    for (const chunk of chunksOf(outcomes, FINISH_CHUNK)) {
      const rows = chunk.map((o) => sql`(${o.id}, ${o.state}, ${o.result}, ${o.error}, ${o.runAt}, ${o.finishedAt}, ${o.failedRun}, ${o.stack})`);
      const result = await sql<{ id: string; name: string }>`
        update queue_jobs set state = v.column2, result = v.column3, error = v.column4,
          run_at = cast(v.column5 as bigint), finished_at = cast(v.column6 as bigint), lease_until = null, locked_by = null,
          attempt_history = ${appendedRun(sql`v.column7`)}, stack = v.column8
        from ${valuesPaddedToPowerOfTwo(rows, 8)} as v
        where queue_jobs.id = v.column1 and ${guard(chunk)}
        returning queue_jobs.id, queue_jobs.name`.execute(db);
      for (const row of result.rows) applied.set(row.id, row.name);
    }
    return applied;
  }

  async setProgress(id: string, workerId: string, progress: string): Promise<void> {
    await this.db
      .updateTable('queue_jobs')
      .set({ progress })
      .where('id', '=', id)
      .where('locked_by', '=', workerId)
      .execute();
  }

  /**
   * Jobs whose lease ran out (their worker died or hung) run again; one that stalled more than
   * `maxStalls` times fails (it may be what kills its workers). Returns the rows as they now stand.
   */
  async recoverStalled(now: number, maxStalls: number): Promise<JobRow[]> {
    const result = await sql<JobRow>`
      update queue_jobs set
        stalls = stalls + 1,
        state = case when stalls + 1 > ${maxStalls} then 'failed' else 'queued' end,
        error = case when stalls + 1 > ${maxStalls} then 'stalled more often than allowed: the worker stopped renewing its lease'
          else 'stalled: the worker stopped renewing its lease' end,
        attempt_history = ${appendedRun(sql`'{"attempt":' || attempts || ',"startedAt":' || coalesce(started_at, ${now}) || ',"finishedAt":' || cast(${now} as text) || ',"error":"stalled"}'`)},
        -- PostgreSQL types a parameter inside CASE … ELSE NULL as text, not as the column's bigint.
        finished_at = case when stalls + 1 > ${maxStalls} then cast(${now} as bigint) else null end,
        run_at = ${now}, lease_until = null, locked_by = null
      where state = 'active' and lease_until < ${now}
      returning *`.execute(this.db);
    return result.rows;
  }

  async cancel(id: string, now: number): Promise<JobRow | undefined> {
    return this.db
      .updateTable('queue_jobs')
      .set({ state: 'cancelled', finished_at: now })
      .where('id', '=', id)
      .where('state', 'in', ['queued', 'delayed'])
      .returningAll()
      .executeTakeFirst();
  }

  /** Per name and state; a delayed job whose run time has come counts as queued (see shownState). */
  async counts(now: number): Promise<JobCounts> {
    const { rows } = await sql<{ name: string; shown_state: JobState; count: number }>`
      select name, case when state = 'delayed' and run_at <= ${now} then 'queued' else state end as shown_state, count(*) as count
      from queue_jobs group by name, shown_state`.execute(this.db);
    const counts: JobCounts = {};
    for (const row of rows) {
      counts[row.name] ??= Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      counts[row.name][row.shown_state] += Number(row.count);
    }
    return counts;
  }

  async listRecent(limit: number, name?: string): Promise<JobRow[]> {
    let query = this.db.selectFrom('queue_jobs').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit);
    if (name) query = query.where('name', '=', name);
    return query.execute();
  }

  /** Drops finished jobs older than the retention, so the table does not grow without bound. */
  async removeFinishedBefore(cutoff: number): Promise<number> {
    const result = await this.db
      .deleteFrom('queue_jobs')
      .where('state', 'in', ['completed', 'cancelled', 'failed'])
      .where('finished_at', '<', cutoff)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

export interface FinishOutcome {
  id: string;
  /** `queued` or `delayed`: a retry, due at runAt */
  state: 'completed' | 'failed' | 'queued' | 'delayed';
  result: string | null;
  error: string | null;
  runAt: number;
  finishedAt: number | null;
  /** a failed run: its AttemptRecord as JSON, appended to the job's history; null when it completed */
  failedRun: string | null;
  /** a failed run's stack, trimmed */
  stack: string | null;
}

/**
 * The attempt_history column with one more run (`entry`, the JSON text of an AttemptRecord, or
 * null for none): a text append, the same on both dialects, that reads no JSON.
 */
function appendedRun(entry: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql`case when ${entry} is null then attempt_history when attempt_history is null then ${entry} else attempt_history || ',' || ${entry} end`;
}
