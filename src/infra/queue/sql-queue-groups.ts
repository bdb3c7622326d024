// Per-group limits on the SQL queue. A job name whose workers declare groupConcurrency or
// groupRate is claimed through this gate instead of the plain claim:
// - a group's active jobs are counted from queue_jobs itself (state 'active'), so a slot is held
//   exactly as long as the job's lease: a dead worker's job is recovered when its lease lapses,
//   and its slot with it, with nothing to release by hand;
// - starts are logged in queue_group_starts, which groupRate counts over a sliding window;
// - the claim steps over the queued jobs of groups with no room, ranks the first others within
//   their groups (row_number) and takes from each group only as many as it has room for, so a
//   busy group's jobs are passed over and never hold up others;
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

/** stands for "no limit" in the arithmetic of the claim (the largest 32-bit integer: PostgreSQL may type it so) */
const UNLIMITED = 2 ** 31 - 1;
/** claim statements per claim at most: each round fills the groups it sees */
const MAX_ROUNDS = 4;

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
      if (limits.rate) await trx.deleteFrom('queue_group_starts').where('name', '=', name).where('started_at', '<=', now - limits.rate.windowMs).execute();
      // Each round ranks a bounded prefix of the queue (see admissible); a group that filled it
      // has no room left after the round and is passed over by the next, so a few rounds reach
      // the jobs behind even a long run of one group.
      const rows: ClaimedRow[] = [];
      for (let round = 0; round < MAX_ROUNDS && rows.length < limit; round++) {
        const taken = await store.claim(name, limit - rows.length, workerId, now, leaseMs, this.admissible(name, limits, limit - rows.length, now));
        if (!taken.length) break;
        rows.push(...taken);
        if (limits.rate) await this.logStarts(trx, name, taken, now);
      }
      return rows;
    });
  }

  /** Logs the starts of the grouped jobs among `rows`, for groupRate. */
  private async logStarts(trx: Kysely<GroupTables>, name: string, rows: ClaimedRow[], now: number): Promise<void> {
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

  /** The condition on queue_jobs that picks the rows to claim. */
  private admissible(name: string, limits: GroupLimits, limit: number, now: number): RawBuilder<unknown> {
    const concurrency = limits.concurrency ?? UNLIMITED;
    const rateMax = limits.rate?.max ?? UNLIMITED;
    const active = sql`select job_group, count(*) as n from queue_jobs
      where name = ${name} and state = 'active' and job_group is not null group by job_group`;
    const started = limits.rate
      ? sql`select job_group, count(*) as n from queue_group_starts where name = ${name} and started_at > ${now - limits.rate.windowMs} group by job_group`
      : sql`select job_group, 0 as n from queue_group_starts where 1 = 0`;
    // Groups with no room are left out before ranking, and only a prefix of the rest (in claim
    // order) is ranked: the queued jobs of a busy group (the bulk of a long queue) are stepped
    // over, never sorted at each claim.
    const prefix = sql`select id, job_group, priority, run_at, created_at from queue_jobs
      where name = ${name} and state = 'queued' and (job_group is null or (
        job_group not in (select job_group from (${active}) f where f.n >= ${concurrency})
        and job_group not in (select job_group from (${started}) r where r.n >= ${rateMax})))
      order by priority, run_at, created_at
      limit ${limit * 2 + 32}`;
    const chosen = sql`select c.id from (
        select p.*, row_number() over (partition by job_group order by priority, run_at, created_at) as group_rank from (${prefix}) p
      ) c
      left join (${active}) a on a.job_group = c.job_group
      left join (${started}) s on s.job_group = c.job_group
      where c.job_group is null or (c.group_rank <= ${concurrency} - coalesce(a.n, 0) and c.group_rank <= ${rateMax} - coalesce(s.n, 0))
      order by c.priority, c.run_at, c.created_at
      limit ${limit}`;
    // PostgreSQL: the ids as an array value are looked up by primary key (see the plain claim).
    // The state is checked again on the row as updated: a worker of this name that claims
    // without the gate (it declared no limits) may have taken it meanwhile.
    return this.dialect === 'postgres' ? sql`id = any(array(${chosen})) and state = 'queued'` : sql`id in (${chosen}) and state = 'queued'`;
  }
}
