// Per-group limits on the SQL queue. A job name whose workers declare groupConcurrency or
// groupRate is claimed through this gate instead of the plain claim:
// - a group's active jobs are counted from queue_jobs itself (state 'active'), so a slot is held
//   exactly as long as the job's lease: a dead worker's job is recovered when its lease lapses,
//   and its slot with it, with nothing to release by hand;
// - starts are logged in queue_group_starts, which groupRate counts over a sliding window;
// - the claim ranks the due jobs within each group (row_number) and takes, from each group, only
//   as many as it has room for, so a busy group's jobs are passed over and never hold up others;
// - claims of one name are serialised across processes (PostgreSQL: a transaction-scoped advisory
//   lock, as SKIP LOCKED cannot make two claims agree on a count; SQLite: one writer at a time),
//   so two workers cannot both take a group's last slot.
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { SqlDialect } from '../db/database.js';
import type { GroupLimits } from './group-limits.js';
import { type ClaimedRow, type QueueTables, SqlQueueStore } from './sql-queue-store.js';

export type GroupTables = QueueTables & {
  queue_group_starts: { name: string; job_group: string; started_at: number };
};

/** stands for "no limit" in the arithmetic of the claim */
const UNLIMITED = 2 ** 31;

export class SqlGroupGate {
  constructor(
    private readonly db: Kysely<GroupTables>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Claims up to `limit` due jobs of `name` that their groups have room for (ungrouped jobs always have). */
  claim(name: string, limits: GroupLimits, limit: number, workerId: string, now: number, leaseMs: number): Promise<ClaimedRow[]> {
    return this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`workyard-queue-groups:${name}`}))`.execute(trx);
      // The store's statements, run inside this transaction (its tables are a subset of ours).
      const store = new SqlQueueStore(trx as unknown as Kysely<QueueTables>, this.dialect);
      const rows = await store.claim(name, limit, workerId, now, leaseMs, this.admissible(name, limits, limit, now));
      if (limits.rate && rows.length) {
        await trx.deleteFrom('queue_group_starts').where('name', '=', name).where('started_at', '<=', now - limits.rate.windowMs).execute();
        // the claim returns what running a job needs, not its group: the rows are read again here
        await trx
          .insertInto('queue_group_starts')
          .columns(['name', 'job_group', 'started_at'])
          .expression((eb) =>
            eb
              .selectFrom('queue_jobs')
              .select([sql.val(name).as('name'), 'job_group', sql<number>`cast(${now} as bigint)`.as('started_at')])
              .where('id', 'in', rows.map((row) => row.id))
              .where('job_group', 'is not', null),
          )
          .execute();
      }
      return rows;
    });
  }

  /** The condition on queue_jobs that picks the rows to claim. */
  private admissible(name: string, limits: GroupLimits, limit: number, now: number): RawBuilder<unknown> {
    const concurrency = limits.concurrency ?? UNLIMITED;
    const active = sql`select job_group, count(*) as n from queue_jobs
      where name = ${name} and state = 'active' and job_group is not null group by job_group`;
    // Groups already at their concurrency are left out before ranking: their queued jobs (the
    // bulk of a long queue of one busy group) are not sorted at each claim.
    const full = limits.concurrency === null ? sql`` : sql`and (job_group is null or job_group not in (select job_group from (${active}) f where f.n >= ${concurrency}))`;
    const startedJoin = limits.rate
      ? sql`left join (select job_group, count(*) as n from queue_group_starts
          where name = ${name} and started_at > ${now - limits.rate.windowMs} group by job_group) s on s.job_group = c.job_group`
      : sql``;
    const rateRoom = limits.rate ? sql`and c.group_rank <= ${limits.rate.max} - coalesce(s.n, 0)` : sql``;
    const chosen = sql`select c.id from (
        select id, job_group, priority, run_at, created_at,
          row_number() over (partition by job_group order by priority, run_at, created_at) as group_rank
        from queue_jobs
        where name = ${name} and state = 'queued' ${full}
      ) c
      left join (${active}) a on a.job_group = c.job_group
      ${startedJoin}
      where c.job_group is null or (c.group_rank <= ${concurrency} - coalesce(a.n, 0) ${rateRoom})
      order by c.priority, c.run_at, c.created_at
      limit ${limit}`;
    // PostgreSQL: the ids as an array value are looked up by primary key (see the plain claim).
    // The state is checked again on the row as updated: a worker of this name that claims
    // without the gate (it declared no limits) may have taken it meanwhile.
    return this.dialect === 'postgres' ? sql`id = any(array(${chosen})) and state = 'queued'` : sql`id in (${chosen}) and state = 'queued'`;
  }
}
