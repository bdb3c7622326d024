// Operating the SQL queue (#18): cancelling running jobs, pausing job names, and the overview of
// GET /queues. The statements live here; sql-queue.ts only delegates.
//
// - A running job is cancelled in its row at once (state `cancelled`, lease and owner cleared), so
//   every reader sees it cancelled and the worker's outcome, guarded by the owner, is not applied:
//   a late result or error is dropped. Its worker is told through the notifier (in-process, or
//   NOTIFY on PostgreSQL) and, should a signal not reach it (SQLite across processes, a lost
//   notification), notices at its next poll (cancelledAmong, every pollMs).
// - A paused name has a row in queue_pauses; the claim statement (sql-queue-store.ts) takes no job
//   of a name that has one.
import { type Kysely, sql } from 'kysely';
import { JOB_STATES, type JobState, OVERVIEW_WINDOW_MS, type QueueOverview } from './contract.js';
import type { JobRow, QueueTables } from './sql-queue-store.js';

export type ControlTables = QueueTables & { queue_pauses: { name: string; paused_at: number } };

export class SqlControlStore {
  constructor(private readonly db: Kysely<ControlTables>) {}

  /** Cancels the job if it is active (its lease and owner cleared); the row as it now stands. */
  async cancelActive(id: string, now: number): Promise<JobRow | undefined> {
    return this.db
      .updateTable('queue_jobs')
      .set({ state: 'cancelled', finished_at: now, lease_until: null, locked_by: null })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .returningAll()
      .executeTakeFirst();
  }

  /** Which of these jobs (run by this process) were cancelled meanwhile: primary-key lookups. */
  async cancelledAmong(ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    const rows = await this.db.selectFrom('queue_jobs').select('id').where('id', 'in', ids).where('state', '=', 'cancelled').execute();
    return rows.map((row) => row.id);
  }

  async pause(name: string, now: number): Promise<void> {
    await this.db
      .insertInto('queue_pauses')
      .values({ name, paused_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  async resume(name: string): Promise<void> {
    await this.db.deleteFrom('queue_pauses').where('name', '=', name).execute();
  }

  async pausedNames(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('queue_pauses').select('name').execute();
    return new Set(rows.map((row) => row.name));
  }

  /**
   * Per name: counts by state, the oldest due queued job, completions in the window and the wait
   * percentiles of runs started in it. Each state is counted from its partial index (queued,
   * delayed, finished: index entries only, no row read), active jobs are few; the waits are read
   * from the runs that finished in the window (their rows only) and the active ones, and the
   * database picks the percentiles (nearest rank), so a few rows per name come back whatever the
   * table holds. A job counts once, with its last run; a run that failed and waits for its retry
   * is not among the waits. The states are named as literals: the planners use a partial index
   * only for a condition they can match to its own.
   */
  async overview(now: number, alsoNames: Iterable<string>): Promise<QueueOverview[]> {
    const since = now - OVERVIEW_WINDOW_MS;
    type Group = { name: string; state: JobState; count: number; oldest_due: number | null; recent: number | null };
    const { rows: queued } = await sql<Group>`
      select name, 'queued' as state, count(*) as count, min(run_at) as oldest_due, 0 as recent
      from queue_jobs where state = 'queued' group by name`.execute(this.db);
    // a delayed job whose run time has come is shown queued (see shownState)
    const { rows: delayed } = await sql<Group & { due: number; oldest_due: number | null }>`
      select name, 'delayed' as state, count(*) as count, sum(case when run_at <= ${now} then 1 else 0 end) as due,
        min(run_at) as oldest_due, 0 as recent
      from queue_jobs where state = 'delayed' group by name`.execute(this.db);
    const { rows: others } = await sql<Group>`
      select name, state, count(*) as count, null as oldest_due, sum(case when finished_at >= ${since} then 1 else 0 end) as recent
      from queue_jobs where state in ('completed', 'failed', 'cancelled') group by name, state
      union all
      select name, 'active' as state, count(*) as count, null as oldest_due, 0 as recent
      from queue_jobs where state = 'active' group by name`.execute(this.db);
    // nearest rank: the p-th percentile of n sorted waits is the ceil(p * n / 100)-th
    const { rows: waits } = await sql<{ name: string; rank: number; n: number; wait: number }>`
      select name, rank, n, wait from (
        select name, started_at - run_at as wait,
          row_number() over (partition by name order by started_at - run_at) as rank,
          count(*) over (partition by name) as n
        from (
          select name, started_at, run_at from queue_jobs
          where state in ('completed', 'failed', 'cancelled') and finished_at >= ${since} and started_at >= ${since}
          union all
          select name, started_at, run_at from queue_jobs where state = 'active' and started_at >= ${since}
        ) started
      ) w
      where rank = (n * 50 + 99) / 100 or rank = (n * 95 + 99) / 100`.execute(this.db);
    const groups: Group[] = [...queued, ...others];
    for (const row of delayed) {
      const due = Number(row.due);
      groups.push({ ...row, count: Number(row.count) - due });
      // due ones count as queued; their run time is their due time, before any still-queued job's
      if (due > 0) groups.push({ name: row.name, state: 'queued', count: due, oldest_due: row.oldest_due, recent: 0 });
    }
    const paused = await this.pausedNames();
    const byName = new Map<string, QueueOverview>();
    const entry = (name: string) => {
      let overview = byName.get(name);
      if (!overview) {
        overview = {
          name,
          counts: Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>,
          paused: paused.has(name),
          oldestWaitingMs: null,
          waitMs: null,
          completionsPerMinute: 0,
        };
        byName.set(name, overview);
      }
      return overview;
    };
    for (const name of [...paused, ...alsoNames]) entry(name);
    for (const row of groups) {
      const overview = entry(row.name);
      overview.counts[row.state] += Number(row.count);
      if (row.state === 'queued' && row.oldest_due !== null) {
        const waited = Math.max(0, now - Number(row.oldest_due));
        overview.oldestWaitingMs = Math.max(overview.oldestWaitingMs ?? 0, waited);
      }
      if (row.state === 'completed') overview.completionsPerMinute = Number(row.recent ?? 0) / (OVERVIEW_WINDOW_MS / 60_000);
    }
    for (const row of waits) {
      const overview = entry(row.name);
      const n = Number(row.n);
      const rank = Number(row.rank);
      const wait = Math.max(0, Number(row.wait));
      overview.waitMs ??= { p50: wait, p95: wait };
      // one row can be both ranks (few runs)
      if (rank === Math.floor((n * 50 + 99) / 100)) overview.waitMs.p50 = wait;
      if (rank === Math.floor((n * 95 + 99) / 100)) overview.waitMs.p95 = wait;
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
