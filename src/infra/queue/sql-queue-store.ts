// The SQL queue's statements, apart from the driver logic that uses them (as BullMQ keeps its Lua
// scripts apart from its classes). One text for SQLite and PostgreSQL, but for row locking.
import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from '../db/database.js';
import type { MigrationSet } from '../db/migrations.js';
import type { JobCounts, JobRecord, JobState } from './contract.js';
import { JOB_STATES } from './contract.js';

export const queueMigrations: MigrationSet = {
  '20261126-00-queue-jobs': () => ({
    async up(db) {
      await db.schema
        .createTable('wy_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('progress', 'text', (c) => c.notNull().defaultTo('0'))
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('backoff_ms', 'integer', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_until', 'bigint')
        .addColumn('locked_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .execute();
      // the claim query: queued jobs of one name, by due time
      await db.schema.createIndex('wy_jobs_claim').on('wy_jobs').columns(['name', 'state', 'run_at']).execute();
      // stalled-lease sweep and recent listings
      await db.schema.createIndex('wy_jobs_state_lease').on('wy_jobs').columns(['state', 'lease_until']).execute();
      await db.schema.createIndex('wy_jobs_created').on('wy_jobs').columns(['created_at']).execute();
    },
  }),
  // A run cut short by a dead worker is not a failure of the job: it is counted apart from
  // attempts, as BullMQ counts stalls apart from attempts made.
  '20261126-01-queue-stalls': () => ({
    async up(db) {
      await db.schema.alterTable('wy_jobs').addColumn('stalls', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  }),
  // Partial indexes: queued jobs by due time (with created_at, so a claim reads rows in order
  // instead of sorting every job due in the same millisecond, a whole bulk), and active jobs by
  // lease. A job enters and leaves each once, instead of every state change rewriting entries
  // of both full indexes: a claim and a finish cost three index updates, not eight. Queries
  // must name the state as a literal for the planners to use them.
  '20261126-02-queue-partial-indexes': () => ({
    async up(db) {
      await db.schema.dropIndex('wy_jobs_claim').execute();
      await db.schema.dropIndex('wy_jobs_state_lease').execute();
      await db.schema.createIndex('wy_jobs_queued').on('wy_jobs').columns(['name', 'run_at', 'created_at']).where(sql.ref('state'), '=', sql.lit('queued')).execute();
      await db.schema.createIndex('wy_jobs_active_lease').on('wy_jobs').column('lease_until').where(sql.ref('state'), '=', sql.lit('active')).execute();
    },
  }),
};

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
  run_at: number;
  lease_until: number | null;
  locked_by: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface NewJobRow {
  id: string;
  name: string;
  data: string;
  state: JobState;
  max_attempts: number;
  backoff_ms: number;
  run_at: number;
  created_at: number;
}

export function rowToRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    name: row.name,
    data: JSON.parse(row.data),
    state: row.state,
    progress: JSON.parse(row.progress),
    result: row.result === null ? null : JSON.parse(row.result),
    error: row.error,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

// Rows per INSERT: SQLite allows 32,766 bound values; 8 columns × 500 rows stays far below.
const INSERT_CHUNK = 500;
// Outcomes per UPDATE: 6 values each, 512 rows stay far below both dialects' limits.
const FINISH_CHUNK = 512;

export class SqlQueueStore {
  constructor(
    private readonly db: Kysely<any>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Inserts the rows, skipping ids that exist; returns the ids that were new. */
  async insert(rows: NewJobRow[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      const result = await this.db
        .insertInto('wy_jobs')
        .values(chunk)
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      for (const row of result) inserted.add(row.id);
    }
    return inserted;
  }

  async get(id: string): Promise<JobRow | undefined> {
    return (await this.db.selectFrom('wy_jobs').selectAll().where('id', '=', id).executeTakeFirst()) as JobRow | undefined;
  }

  async getMany(ids: string[]): Promise<JobRow[]> {
    if (!ids.length) return [];
    return (await this.db.selectFrom('wy_jobs').selectAll().where('id', 'in', ids).execute()) as JobRow[];
  }

  async getFinished(ids: string[]): Promise<JobRow[]> {
    if (!ids.length) return [];
    return (await this.db
      .selectFrom('wy_jobs')
      .selectAll()
      .where('id', 'in', ids)
      .where('state', 'in', ['completed', 'failed', 'cancelled'])
      .execute()) as JobRow[];
  }

  /** Takes up to `limit` due jobs of one name for this worker, atomically across processes. */
  async claim(name: string, limit: number, workerId: string, now: number, leaseMs: number): Promise<JobRow[]> {
    const due = sql`select id from wy_jobs where name = ${name} and state = 'queued' and run_at <= ${now}
      order by run_at, created_at limit ${limit}`;
    // PostgreSQL: SKIP LOCKED lets workers on other machines claim other rows instead of waiting
    // on these, and `= any(array(…))` makes the ids a value the planner looks up by primary key
    // (with `in (…)` it hashes a scan of the whole table, once per claim). SQLite has one writer
    // at a time, so the statement is atomic there as it stands.
    const which = this.dialect === 'postgres' ? sql`id = any(array(${due} for update skip locked))` : sql`id in (${due})`;
    const result = await sql<JobRow>`
      update wy_jobs set state = 'active', attempts = attempts + 1, started_at = ${now},
        lease_until = ${now + leaseMs}, locked_by = ${workerId}, error = null
      where ${which}
      returning *`.execute(this.db);
    return result.rows;
  }

  /** The earliest due time of a queued job of this name, to sleep until a delayed job is due. */
  async nextRunAt(name: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('wy_jobs')
      .select((eb) => eb.fn.min('run_at').as('next'))
      .where('name', '=', name)
      .where('state', '=', sql.lit('queued'))
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? null : Number(row.next);
  }

  async extendLeases(workerId: string, ids: string[], leaseUntil: number): Promise<void> {
    if (!ids.length) return;
    await this.db
      .updateTable('wy_jobs')
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
  async finish(outcomes: FinishOutcome[], workerId: string): Promise<Set<string>> {
    const applied = new Set<string>();
    // Only the lease holder's row is updated (locked_by is set by a claim and cleared by a
    // finish or a stall recovery, so it also means the job is active). PostgreSQL: naming the
    // state would steer the planner to the partial index of active jobs, whose dead entries
    // (every job that was active since the last vacuum) it walks, joined row by row; the ids as
    // an array make it look the rows up by primary key.
    const guard = (chunk: FinishOutcome[]) =>
      this.dialect === 'postgres'
        ? sql`wy_jobs.id = any(cast(${chunk.map((o) => o.id)} as text[])) and wy_jobs.locked_by = ${workerId}`
        : sql`wy_jobs.locked_by = ${workerId} and wy_jobs.state = 'active'`;
    for (let i = 0; i < outcomes.length; i += FINISH_CHUNK) {
      const chunk = outcomes.slice(i, i + FINISH_CHUNK);
      const rows = chunk.map((o) => sql`(${o.id}, ${o.state}, ${o.result}, ${o.error}, ${o.runAt}, ${o.finishedAt})`);
      // Padding to a power of two keeps the statement texts few, so SQLite's statement cache
      // holds them all; a padding row matches no job.
      for (let size = 2 ** Math.ceil(Math.log2(chunk.length)); rows.length < size; ) rows.push(sql`(null, null, null, null, null, null)`);
      const result = await sql<{ id: string }>`
        update wy_jobs set state = v.column2, result = v.column3, error = v.column4,
          run_at = cast(v.column5 as bigint), finished_at = cast(v.column6 as bigint), lease_until = null, locked_by = null
        from (values ${sql.join(rows)}) as v
        where wy_jobs.id = v.column1 and ${guard(chunk)}
        returning wy_jobs.id`.execute(this.db);
      for (const row of result.rows) applied.add(row.id);
    }
    return applied;
  }

  async setProgress(id: string, workerId: string, progress: string): Promise<void> {
    await this.db
      .updateTable('wy_jobs')
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
      update wy_jobs set
        stalls = stalls + 1,
        state = case when stalls + 1 > ${maxStalls} then 'failed' else 'queued' end,
        error = case when stalls + 1 > ${maxStalls} then 'stalled more often than allowed: the worker stopped renewing its lease'
          else 'stalled: the worker stopped renewing its lease' end,
        -- PostgreSQL types a parameter inside CASE … ELSE NULL as text, not as the column's bigint.
        finished_at = case when stalls + 1 > ${maxStalls} then cast(${now} as bigint) else null end,
        run_at = ${now}, lease_until = null, locked_by = null
      where state = 'active' and lease_until < ${now}
      returning *`.execute(this.db);
    return result.rows;
  }

  async cancel(id: string, now: number): Promise<JobRow | undefined> {
    return (await this.db
      .updateTable('wy_jobs')
      .set({ state: 'cancelled', finished_at: now })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .returningAll()
      .executeTakeFirst()) as JobRow | undefined;
  }

  async counts(): Promise<JobCounts> {
    const rows = await this.db
      .selectFrom('wy_jobs')
      .select(['name', 'state', (eb) => eb.fn.countAll().as('count')])
      .groupBy(['name', 'state'])
      .execute();
    const counts: JobCounts = {};
    for (const row of rows) {
      counts[row.name] ??= Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      counts[row.name][row.state as JobState] = Number(row.count);
    }
    return counts;
  }

  async listRecent(limit: number, name?: string): Promise<JobRow[]> {
    let query = this.db.selectFrom('wy_jobs').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit);
    if (name) query = query.where('name', '=', name);
    return (await query.execute()) as JobRow[];
  }

  /** Drops finished jobs older than the retention, so the table does not grow without bound. */
  async removeFinishedBefore(cutoff: number): Promise<number> {
    const result = await this.db
      .deleteFrom('wy_jobs')
      .where('state', 'in', ['completed', 'cancelled', 'failed'])
      .where('finished_at', '<', cutoff)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

export interface FinishOutcome {
  id: string;
  state: 'completed' | 'failed' | 'queued';
  result: string | null;
  error: string | null;
  runAt: number;
  finishedAt: number | null;
}
