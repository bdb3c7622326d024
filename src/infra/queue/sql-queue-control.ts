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
   * percentiles of runs started in it. Two statements, each one pass over the table (no index
   * serves "started in the last 5 minutes" without slowing every claim), the percentiles picked
   * by the database (nearest rank): what comes back is a few rows per name, whatever the table
   * holds. A job counts once, with its last run: the waits of earlier runs are not kept.
   */
  async overview(now: number, alsoNames: Iterable<string>): Promise<QueueOverview[]> {
    const since = now - OVERVIEW_WINDOW_MS;
    const { rows: groups } = await sql<{ name: string; shown_state: JobState; count: number; oldest_due: number | null; recent: number | null }>`
      select name, shown_state, count(*) as count, min(run_at) as oldest_due,
        sum(case when finished_at >= ${since} then 1 else 0 end) as recent
      from (select name, run_at, finished_at, case when state = 'delayed' and run_at <= ${now} then 'queued' else state end as shown_state from queue_jobs) j
      group by name, shown_state`.execute(this.db);
    // nearest rank: the p-th percentile of n sorted waits is the ceil(p * n / 100)-th
    const { rows: waits } = await sql<{ name: string; rank: number; n: number; wait: number }>`
      select name, rank, n, wait from (
        select name, started_at - run_at as wait,
          row_number() over (partition by name order by started_at - run_at) as rank,
          count(*) over (partition by name) as n
        from queue_jobs where started_at >= ${since}
      ) w
      where rank = (n * 50 + 99) / 100 or rank = (n * 95 + 99) / 100`.execute(this.db);
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
      overview.counts[row.shown_state] += Number(row.count);
      if (row.shown_state === 'queued' && row.oldest_due !== null) overview.oldestWaitingMs = Math.max(0, now - Number(row.oldest_due));
      if (row.shown_state === 'completed') overview.completionsPerMinute = Number(row.recent ?? 0) / (OVERVIEW_WINDOW_MS / 60_000);
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
