// The SQL queue's table.
import { sql } from 'kysely';
import { type MigrationSet, renameTables } from '../db/migrations.js';

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
  '20261204-10-queue-table-names': renameTables({ wy_jobs: 'queue_jobs' }),
  // Queue I: priorities, timeouts, groups, keys, and `delayed` as a state of its own. Queued jobs
  // are then all due, so the claim reads the queued index in order (priority, due time, age)
  // without stepping over jobs that are not due yet; delayed jobs wait in an index of their own
  // until a claim promotes them. Both stay partial, as above: a plain job enters and leaves only
  // the queued one. A job holds its key in `held_key` (the key it was given stays in `job_key`):
  // the unique index makes taking a key one atomic statement across processes, and only keyed
  // jobs are in it.
  '20261205-00-queue-run-times-priorities-keys': () => ({
    async up(db) {
      await db.schema.alterTable('queue_jobs').addColumn('priority', 'integer', (c) => c.notNull().defaultTo(5)).execute();
      await db.schema.alterTable('queue_jobs').addColumn('timeout_ms', 'bigint').execute();
      await db.schema.alterTable('queue_jobs').addColumn('job_group', 'text').execute();
      await db.schema.alterTable('queue_jobs').addColumn('job_key', 'text').execute();
      await db.schema.alterTable('queue_jobs').addColumn('held_key', 'text').execute();
      await db.schema.alterTable('queue_jobs').addColumn('key_ttl_ms', 'bigint').execute();
      await sql`update queue_jobs set state = 'delayed' where state = 'queued' and run_at > ${Date.now()}`.execute(db);
      await db.schema.dropIndex('queue_jobs_queued').execute();
      await db.schema.createIndex('queue_jobs_queued').on('queue_jobs').columns(['name', 'priority', 'run_at', 'created_at']).where(sql.ref('state'), '=', sql.lit('queued')).execute();
      await db.schema.createIndex('queue_jobs_delayed').on('queue_jobs').columns(['name', 'run_at']).where(sql.ref('state'), '=', sql.lit('delayed')).execute();
      await db.schema.createIndex('queue_jobs_held_key').unique().on('queue_jobs').columns(['name', 'held_key']).where(sql.ref('held_key'), 'is not', null).execute();
    },
  }),
  // Per-group limits (sql-queue-groups.ts): a log of the starts of grouped jobs, which groupRate
  // counts over a sliding window (a job's own started_at is overwritten by its retry, so it
  // cannot tell two starts apart). The group itself is queue_jobs.job_group, from queue I above.
  '20261205-01-queue-groups': () => ({
    async up(db) {
      await db.schema
        .createTable('queue_group_starts')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('job_group', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('queue_group_starts_window').on('queue_group_starts').columns(['name', 'started_at']).execute();
    },
  }),
  // Schedules (schedules/sql-schedule-store.ts): one row each. A replace bumps `revision`, and a
  // run is recorded only against the revision and last_run_at it was computed from, so of the
  // processes firing one due time exactly one counts it.
  '20261205-02-queue-schedules': () => ({
    async up(db) {
      await db.schema
        .createTable('queue_schedules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('cron', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('job_name', 'text', (c) => c.notNull())
        .addColumn('job_data', 'text', (c) => c.notNull())
        .addColumn('job_options', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('spec_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_run_at', 'bigint')
        .addColumn('last_job_id', 'text')
        .addColumn('fired', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  }),
  // Queue II (#18), dead jobs and listing. A job keeps its ended runs (failed or stalled; the last
  // run is read from the row itself) as comma-separated JSON objects, appended by the statement
  // that ends the run, and the stack of its last failure. `attempts_before_retry`: runs started
  // before an operator's retry, so the retried job gets its attempts afresh while its count of
  // runs goes on. Listing reads (created_at, id) newest first, with or without a name; failed jobs
  // of a name by finish time (retryFailed) in a partial index that a job enters once, at its end.
  '20261206-00-queue-attempt-history': () => ({
    async up(db) {
      await db.schema.alterTable('queue_jobs').addColumn('attempt_history', 'text').execute();
      await db.schema.alterTable('queue_jobs').addColumn('stack', 'text').execute();
      await db.schema.alterTable('queue_jobs').addColumn('attempts_before_retry', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.dropIndex('queue_jobs_created').execute();
      await db.schema.createIndex('queue_jobs_created').on('queue_jobs').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('queue_jobs_name_created').on('queue_jobs').columns(['name', 'created_at', 'id']).execute();
      await db.schema.createIndex('queue_jobs_failed').on('queue_jobs').columns(['name', 'finished_at']).where(sql.ref('state'), '=', sql.lit('failed')).execute();
    },
  }),
  // Job logs (sql-queue-logs.ts): a job's last lines of ctx.log, numbered per job. The foreign
  // key deletes them with their job (retention), through the primary key's index on job_id.
  '20261206-02-queue-job-logs': () => ({
    async up(db) {
      await db.schema
        .createTable('queue_job_logs')
        .addColumn('job_id', 'text', (c) => c.notNull().references('queue_jobs.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('queue_job_logs_pk', ['job_id', 'seq'])
        .execute();
    },
  }),
  // Paused job names (sql-queue-control.ts): one row per name while paused. The claim statement
  // looks its name up here (a primary-key probe), so a pause holds in every process at once and
  // survives restarts. And a partial index of finished jobs by (name, state, finished_at), so that
  // the overview (GET /queues) counts them from index entries instead of reading every row, and
  // finds those finished in the last minutes by range: a job enters it once, when it finishes.
  '20261206-01-queue-pauses': () => ({
    async up(db) {
      await db.schema
        .createTable('queue_pauses')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('paused_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('queue_jobs_finished')
        .on('queue_jobs')
        .columns(['name', 'state', 'finished_at'])
        .where(sql<boolean>`state in ('completed', 'failed', 'cancelled')`)
        .execute();
    },
  }),
  // Traces (job-trace.ts): the W3C trace context of the code that enqueued the job, so that its
  // runs join that trace. Nullable, and written only when tracing is on.
  '20261206-03-queue-trace-context': () => ({
    async up(db) {
      await db.schema.alterTable('queue_jobs').addColumn('trace', 'text').execute();
    },
  }),
  // The group gate (sql-queue-groups.ts) counts each group's active jobs of a name at every claim;
  // without this index that count read every active job of every name. Webhook deliveries (one
  // group per endpoint) went from about 1,100 to 1,800 a second on SQLite with it.
  '20261207-09-queue-active-groups': () => ({
    async up(db) {
      await db.schema
        .createIndex('queue_jobs_active_groups')
        .on('queue_jobs')
        .columns(['name', 'job_group'])
        .where(sql<boolean>`state = 'active'`)
        .execute();
    },
  }),
  // The group gate walks the groups that have queued jobs, and takes each one's first rows, by
  // seeks in this index (sql-queue-groups.ts): before it, a claim while a group was full read
  // past every queued job of that group — 1.3 ms a claim with 10,000 webhook deliveries waiting
  // for one endpoint, growing with the backlog. Grouped jobs only: the queues that use no groups
  // (most) do not maintain it — with every queued job in it, the SQL driver processed 15-25 %
  // fewer plain jobs a second (bench:queue, same run).
  '20261213-10-queue-queued-groups': () => ({
    async up(db) {
      await db.schema
        .createIndex('queue_jobs_queued_groups')
        .on('queue_jobs')
        .columns(['name', 'job_group', 'priority', 'run_at', 'created_at'])
        .where(sql<boolean>`state = 'queued' and job_group is not null`)
        .execute();
    },
  }),
  // The active jobs of groups only, as the queued index above: the gate counts grouped jobs alone
  // (its statements say `job_group is not null`, or name the groups), and every plain job passed
  // through this index twice for nothing — in at its claim, out at its finish.
  '20261214-10-queue-active-groups-grouped-only': () => ({
    async up(db) {
      await db.schema.dropIndex('queue_jobs_active_groups').execute();
      await db.schema
        .createIndex('queue_jobs_active_groups')
        .on('queue_jobs')
        .columns(['name', 'job_group'])
        .where(sql<boolean>`state = 'active' and job_group is not null`)
        .execute();
    },
  }),
};
