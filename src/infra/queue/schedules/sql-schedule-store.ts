// Schedules in the SQL queue's database (table queue_schedules), on SQLite and PostgreSQL alike.
import { sql } from 'kysely';
import { type Database, withTables } from '../../db/database.js';
import type { ScheduleSpecRow, ScheduleStore, StoredSchedule } from './schedule-rules.js';

interface ScheduleRow {
  id: string;
  cron: string;
  timezone: string;
  job_name: string;
  job_data: string;
  job_options: string;
  revision: number;
  spec_at: number;
  created_at: number;
  last_run_at: number | null;
  last_job_id: string | null;
  fired: number;
}

export type ScheduleTables = { queue_schedules: ScheduleRow };

function fromRow(row: ScheduleRow): StoredSchedule {
  return {
    id: row.id,
    cron: row.cron,
    timezone: row.timezone,
    jobName: row.job_name,
    jobData: row.job_data,
    jobOptions: row.job_options,
    revision: Number(row.revision),
    specAt: Number(row.spec_at),
    createdAt: Number(row.created_at),
    lastRunAt: row.last_run_at === null ? null : Number(row.last_run_at),
    lastJobId: row.last_job_id,
    fired: Number(row.fired),
  };
}

export class SqlScheduleStore implements ScheduleStore {
  private readonly database: Database<ScheduleTables>;

  constructor(database: Database) {
    this.database = withTables<ScheduleTables>(database);
  }

  async save(spec: ScheduleSpecRow): Promise<StoredSchedule> {
    const row = await this.database.run((db) =>
      db
        .insertInto('queue_schedules')
        .values({
          id: spec.id, cron: spec.cron, timezone: spec.timezone, job_name: spec.jobName, job_data: spec.jobData, job_options: spec.jobOptions,
          revision: 1, spec_at: spec.specAt, created_at: spec.specAt, last_run_at: null, last_job_id: null, fired: 0,
        })
        // A replace keeps the schedule's history (created_at, last run, fired) and bumps its revision.
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            cron: eb.ref('excluded.cron'),
            timezone: eb.ref('excluded.timezone'),
            job_name: eb.ref('excluded.job_name'),
            job_data: eb.ref('excluded.job_data'),
            job_options: eb.ref('excluded.job_options'),
            spec_at: eb.ref('excluded.spec_at'),
            revision: sql<number>`queue_schedules.revision + 1`,
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return fromRow(row);
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.database.run((db) => db.deleteFrom('queue_schedules').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  async list(): Promise<StoredSchedule[]> {
    return (await this.database.run((db) => db.selectFrom('queue_schedules').selectAll().execute())).map(fromRow);
  }

  async get(id: string): Promise<StoredSchedule | null> {
    const row = await this.database.run((db) => db.selectFrom('queue_schedules').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? fromRow(row) : null;
  }

  async recordRun(id: string, revision: number, previous: number | null, dueAt: number, jobId: string): Promise<boolean> {
    const result = await this.database.run((db) =>
      db
        .updateTable('queue_schedules')
        .set((eb) => ({ last_run_at: dueAt, last_job_id: jobId, fired: eb('fired', '+', 1) }))
        .where('id', '=', id)
        .where('revision', '=', revision)
        .where((eb) => (previous === null ? eb('last_run_at', 'is', null) : eb('last_run_at', '=', previous)))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }
}
