// Per-group limits on the SQL queue. A job name whose workers declare groupConcurrency or
// groupRate is claimed through this gate instead of the plain claim:
// - a group's active jobs are counted from queue_jobs itself (state 'active'), so a slot is held
//   exactly as long as the job's lease: a dead worker's job is recovered when its lease lapses,
//   and its slot with it, with nothing to release by hand;
// - starts are logged in queue_group_starts, which groupRate counts over a sliding window;
// - the claim reads a bounded head of the queue (ids and groups), counts the room of the groups
//   it holds, and takes from each only as many as it has room for, in queue order; when that
//   leaves free slots and some group is full, it walks the groups that have queued jobs (one
//   index seek each) and takes the first jobs of those with room — so a busy group's backlog is
//   never read past, at any length, and never holds up other groups;
// - claims of one name are serialised across processes (PostgreSQL: a transaction-scoped advisory
//   lock, as SKIP LOCKED cannot make two claims agree on a count; SQLite: the write lock, taken
//   at BEGIN IMMEDIATE),
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
/**
 * groups one walk visits at most (one index seek each): more groups than this waiting behind full
 * ones are reached in the order of their names, as the first ones empty
 */
const MAX_GROUPS_WALKED = 128;

export class SqlGroupGate {
  constructor(
    private readonly db: Kysely<GroupTables>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Claims up to `limit` due jobs of `name` that their groups have room for (ungrouped jobs always have). */
  claim(name: string, limits: GroupLimits, limit: number, workerId: string, now: number, leaseMs: number): Promise<ClaimedRow[]> {
    // the head is read before it is claimed from: on SQLite the transaction holds the write lock
    // from its start (a write transaction begins IMMEDIATE, sqlite-waits.ts)
    return this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`workyard-queue-groups:${name}`}))`.execute(trx);
      // The store's statements, run inside this transaction (its tables are a subset of ours).
      const store = new SqlQueueStore(trx as unknown as Kysely<QueueTables>, this.dialect);
      if (limits.rate) await trx.deleteFrom('queue_group_starts').where('name', '=', name).where('started_at', '<=', now - limits.rate.windowMs).execute();
      // Starts are logged as soon as they are claimed: the next statement counts them.
      const claimWhere = async (which: RawBuilder<unknown>, count: number) => {
        const taken = await store.claim(name, count, workerId, now, leaseMs, which);
        if (limits.rate && taken.length) await this.logStarts(trx, name, taken, now);
        return taken;
      };
      const rows: ClaimedRow[] = [];
      // Each round takes what the head of the queue holds for groups with room (admissibleInHead),
      // then reaches past full groups if slots are left (behindFullGroups); a group that filled
      // up in a round has no room left in the next, which is passed over.
      for (let round = 0; round < MAX_ROUNDS && rows.length < limit; round++) {
        const wanted = limit - rows.length;
        const { ids, wholeQueue } = await this.admissibleInHead(trx, name, limits, wanted, now);
        let taken = ids.length ? await claimWhere(this.idsIn(ids), ids.length) : [];
        let reachedPast = 0;
        // the head did not fill the slots and the queue goes on past it: jobs of groups with room
        // may wait behind full ones
        if (taken.length < wanted && !wholeQueue) {
          const behind = await this.behindFullGroups(trx, name, limits, wanted - taken.length, now);
          if (behind) {
            const more = await claimWhere(this.idIn(behind), wanted - taken.length);
            reachedPast = more.length;
            taken = [...taken, ...more];
          }
        }
        rows.push(...taken);
        // short of the slots with nothing from past the full groups: another round would read the same head again
        if (taken.length < wanted && !reachedPast) break;
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

  /** Each group's active jobs of `name`, and its starts within the rate window. */
  private counts(name: string, limits: GroupLimits, now: number) {
    const active = sql`select job_group, count(*) as n from queue_jobs
      where name = ${name} and state = 'active' and job_group is not null group by job_group`;
    const started = limits.rate
      ? sql`select job_group, count(*) as n from queue_group_starts where name = ${name} and started_at > ${now - limits.rate.windowMs} group by job_group`
      : sql`select job_group, 0 as n from queue_group_starts where 1 = 0`;
    const full = sql`select job_group from (${active}) f where f.n >= ${limits.concurrency ?? UNLIMITED}
      union select job_group from (${started}) r where r.n >= ${limits.rate?.max ?? UNLIMITED}`;
    return { active, started, full };
  }

  /**
   * The ids to claim from the head of the queue: its first rows in claim order (a bounded read,
   * whatever the queue's length), each group's as many as it has room for, in that order — ranked
   * here rather than by a window function in SQL, which cost SQLite four times the read itself.
   * `wholeQueue`: the head held every queued job of the name.
   */
  private async admissibleInHead(trx: Kysely<GroupTables>, name: string, limits: GroupLimits, wanted: number, now: number): Promise<{ ids: string[]; wholeQueue: boolean }> {
    const size = wanted * 2 + 32;
    const head = await sql<{ id: string; job_group: string | null }>`select id, job_group from queue_jobs where name = ${name} and state = 'queued'
      order by priority, run_at, created_at limit ${size}`.execute(trx);
    const groups = [...new Set(head.rows.flatMap((row) => (row.job_group === null ? [] : [row.job_group])))];
    const room = await this.roomOf(trx, name, limits, groups, now);
    const ids: string[] = [];
    for (const row of head.rows) {
      if (ids.length === wanted) break;
      if (row.job_group !== null) {
        const left = room.get(row.job_group)!;
        if (left <= 0) continue;
        room.set(row.job_group, left - 1);
      }
      ids.push(row.id);
    }
    return { ids, wholeQueue: head.rows.length < size };
  }

  /** How many more jobs each of these groups may start now: its concurrency less its active jobs, its rate less its starts in the window. */
  private async roomOf(trx: Kysely<GroupTables>, name: string, limits: GroupLimits, groups: string[], now: number): Promise<Map<string, number>> {
    const concurrency = limits.concurrency ?? UNLIMITED;
    const room = new Map(groups.map((group) => [group, Math.min(concurrency, limits.rate?.max ?? UNLIMITED)]));
    if (!groups.length) return room;
    const lessBy = (rows: { job_group: string; n: number }[], max: number) => {
      for (const row of rows) room.set(row.job_group, Math.min(room.get(row.job_group)!, max - Number(row.n)));
    };
    const inGroups = this.valueIn(sql.ref('job_group'), groups);
    const active = await sql<{ job_group: string; n: number }>`select job_group, count(*) as n from queue_jobs
      where name = ${name} and state = 'active' and job_group is not null and ${inGroups} group by job_group`.execute(trx);
    lessBy(active.rows, concurrency);
    if (limits.rate) {
      const started = await sql<{ job_group: string; n: number }>`select job_group, count(*) as n from queue_group_starts
        where name = ${name} and started_at > ${now - limits.rate.windowMs} and ${inGroups} group by job_group`.execute(trx);
      lessBy(started.rows, limits.rate.max);
    }
    return room;
  }

  /**
   * When some group is full, the jobs of other groups that wait behind its backlog: the groups
   * with queued jobs are walked through the queued_groups index, one seek each, and each with
   * room gives its first jobs by seek, the free slots shared among them. Null when no group is
   * full (the head held every group's first jobs) or none has room. Jobs without a group are not
   * in that index (so that queues without groups do not maintain it, bench/RESULTS.md): of a name
   * whose workers declare limits, they are claimed from the head, in queue order.
   */
  private async behindFullGroups(trx: Kysely<GroupTables>, name: string, limits: GroupLimits, slots: number, now: number): Promise<RawBuilder<{ id: string }> | null> {
    const { active, started, full } = this.counts(name, limits, now);
    const walked = await sql<{ job_group: string | null; active: number; started: number }>`
      with recursive walk(job_group, step) as (
        select (select job_group from queue_jobs where name = ${name} and state = 'queued' and job_group is not null
          order by job_group limit 1), 1
        where exists (${full})
        union all
        select (select q.job_group from queue_jobs q where q.name = ${name} and q.state = 'queued' and q.job_group is not null and q.job_group > walk.job_group
          order by q.job_group limit 1), walk.step + 1
        from walk where walk.job_group is not null and walk.step < ${MAX_GROUPS_WALKED}
      )
      select w.job_group, coalesce(a.n, 0) as active, coalesce(s.n, 0) as started from walk w
        left join (${active}) a on a.job_group = w.job_group
        left join (${started}) s on s.job_group = w.job_group
        where w.job_group is not null`.execute(trx);
    const rooms = walked.rows
      .map((row) => ({ group: row.job_group!, room: Math.min((limits.concurrency ?? UNLIMITED) - Number(row.active), (limits.rate?.max ?? UNLIMITED) - Number(row.started)) }))
      .filter((group) => group.room > 0);
    if (!rooms.length) return null;
    // the slots are shared, so that the first groups by name do not take them all
    const share = Math.max(1, Math.ceil(slots / rooms.length));
    const parts: RawBuilder<unknown>[] = [];
    let left = slots;
    for (const { group, room } of rooms) {
      if (left <= 0) break;
      const take = Math.min(room, share, left);
      left -= take;
      parts.push(sql`select id from (select id from queue_jobs where name = ${name} and state = 'queued' and job_group = ${group} and job_group is not null
        order by priority, run_at, created_at limit ${take}) t${sql.raw(String(parts.length))}`);
    }
    return sql<{ id: string }>`${sql.join(parts, sql` union all `)}`;
  }

  /**
   * The claim's condition for the ids the walk chose. PostgreSQL: the ids as an array value are
   * looked up by primary key (see the plain claim). The state is checked again on the row as
   * updated: a worker of this name that claims without the gate (it declared no limits) may have
   * taken it meanwhile.
   */
  private idIn(ids: RawBuilder<{ id: string }>): RawBuilder<unknown> {
    return this.dialect === 'postgres' ? sql`id = any(array(${ids})) and state = 'queued'` : sql`id in (${ids}) and state = 'queued'`;
  }

  /** The claim's condition for ids chosen here (checked again as idIn's are). */
  private idsIn(ids: string[]): RawBuilder<unknown> {
    return sql`${this.valueIn(sql.ref('id'), ids)} and state = 'queued'`;
  }

  /** `column` is one of `values`, bound as one parameter: one statement text whatever their number (SQLite caches it prepared). */
  private valueIn(column: RawBuilder<unknown>, values: string[]): RawBuilder<unknown> {
    return this.dialect === 'postgres' ? sql`${column} = any(${values}::text[])` : sql`${column} in (select value from json_each(${JSON.stringify(values)}))`;
  }
}
