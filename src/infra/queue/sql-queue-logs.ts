// Job logs on the SQL queue (ctx.log, getLogs, `log` events). Lines are rows of queue_job_logs,
// numbered per job (seq), pruned to the bound after each write, and deleted with their job (the
// foreign key cascades, so retention needs no statement of its own).
//
// Events: the process running the job hands each line to its own subscribers and signals it to
// the others (PostgreSQL NOTIFY: small lines inline, a larger one as its number, read by the
// watchers; NOTIFY payloads stop at 8000 bytes). Processes that hear no signal (SQLite has no
// channel between processes) or lost one read the lines of the jobs they follow on their poll.
// Nothing is read when no one follows a job.
import { type Kysely, sql } from 'kysely';
import { chunksOf } from '../db/chunks.js';
import { type JobLogLine, MAX_LOG_BYTES, MAX_LOG_LINES } from './contract.js';
import { logLineOf } from './job-logs.js';
import type { JobWatchers } from './job-watchers.js';
import type { Notifier, QueueSignal } from './notifier.js';

/** A line of up to this many bytes travels inside the signal; a larger one is read by who follows the job. */
const INLINE_LOG_BYTES = 2_000;
// Followed jobs per poll statement: two values each.
const POLL_CHUNK = 200;

interface NumberedLine extends JobLogLine {
  seq: number;
}

export class SqlJobLogStore {
  constructor(private readonly db: Kysely<object>) {}

  /**
   * Appends a line to a job that runs (a line logged by a handler that ignored its cancel, or
   * whose job is gone, is dropped), then drops its oldest lines past the bound (boundLogLines
   * in SQL: by number of lines, then by bytes, newest first). Returns the line's number, or null
   * when the job does not run (any more). Lines of one job are written one after the other (SqlJobLogs).
   */
  async append(jobId: string, line: JobLogLine): Promise<number | null> {
    const { rows } = await sql<{ seq: number }>`
      insert into queue_job_logs (job_id, seq, at, message, bytes)
      select cast(${jobId} as text), coalesce((select max(seq) from queue_job_logs where job_id = ${jobId}), 0) + 1,
        cast(${line.at} as bigint), cast(${line.message} as text), cast(${Buffer.byteLength(line.message)} as integer)
      where exists (select 1 from queue_jobs where id = ${jobId} and state = 'active')
      on conflict do nothing
      returning seq`.execute(this.db);
    const seq = rows[0]?.seq;
    if (seq === undefined) return null;
    await sql`
      delete from queue_job_logs where job_id = ${jobId} and seq <= (
        select coalesce(max(seq), 0) from (
          select seq, row_number() over (order by seq desc) as n, sum(bytes) over (order by seq desc) as total
          from queue_job_logs where job_id = ${jobId}
        ) as newest_first
        where n > ${MAX_LOG_LINES} or total > ${MAX_LOG_BYTES}
      )`.execute(this.db);
    return Number(seq);
  }

  /** The job's lines, oldest first; null when there is no such job. */
  async read(jobId: string): Promise<JobLogLine[] | null> {
    const { rows } = await sql<{ at: number | null; message: string | null }>`
      select l.at, l.message from queue_jobs j left join queue_job_logs l on l.job_id = j.id
      where j.id = ${jobId} order by l.seq`.execute(this.db);
    if (!rows.length) return null;
    return rows.flatMap((row) => (row.at === null ? [] : [{ at: Number(row.at), message: row.message! }]));
  }

  /** The number of the job's newest line (0: none). */
  async lastSeq(jobId: string): Promise<number> {
    const { rows } = await sql<{ seq: number | null }>`select max(seq) as seq from queue_job_logs where job_id = ${jobId}`.execute(this.db);
    return Number(rows[0]?.seq ?? 0);
  }

  /** Lines of each job past the number given, with the job's name, oldest first per job. */
  async after(positions: { jobId: string; seq: number }[]): Promise<(NumberedLine & { jobId: string; name: string })[]> {
    if (!positions.length) return [];
    const which = sql.join(positions.map((p) => sql`(l.job_id = ${p.jobId} and l.seq > ${p.seq})`), sql` or `);
    const { rows } = await sql<{ job_id: string; name: string; seq: number; at: number; message: string }>`
      select l.job_id, j.name, l.seq, l.at, l.message from queue_job_logs l join queue_jobs j on j.id = l.job_id
      where ${which} order by l.job_id, l.seq`.execute(this.db);
    return rows.map((row) => ({ jobId: row.job_id, name: row.name, seq: Number(row.seq), at: Number(row.at), message: row.message }));
  }
}

export class SqlJobLogs {
  /** per job running here: its last write, so that the next takes the next number */
  private readonly writes = new Map<string, Promise<void>>();
  /**
   * Jobs subscribed to in this process: the number of the last line handed to their listeners
   * (null: not known yet; lines from before the subscription are not events).
   */
  private readonly followed = new Map<string, number | null>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly store: SqlJobLogStore,
    private readonly watchers: JobWatchers,
    private readonly notifier: Notifier,
    private readonly origin: string,
    /** runs a statement with the dependency deadline */
    private readonly run: <T>(statement: () => Promise<T>) => Promise<T>,
    pollMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    notifier.onSignal((signal) => this.onSignal(signal));
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
  }

  /** ctx.log of a job running in this process. */
  log(jobId: string, name: string, message: unknown): Promise<void> {
    const line = logLineOf(message);
    const write = (this.writes.get(jobId) ?? Promise.resolve()).then(async () => {
      const seq = await this.run(() => this.store.append(jobId, line));
      // The job is gone (removed by retention while a late handler went on logging): nothing to tell.
      if (seq === null) return;
      this.offer(jobId, name, seq, line);
      // Measured as sent: JSON escapes may make a line longer than it is.
      const log = Buffer.byteLength(JSON.stringify(line.message)) <= INLINE_LOG_BYTES ? { seq, ...line } : { seq };
      this.notifier.publish({ origin: this.origin, kind: 'log', name, ids: [jobId], log });
    });
    // The next line waits for this one, failed or not; the entry goes once the job's last write settles.
    const settled = write.catch(() => {});
    this.writes.set(jobId, settled);
    void settled.then(() => this.writes.get(jobId) === settled && this.writes.delete(jobId));
    return write;
  }

  read(jobId: string): Promise<JobLogLine[] | null> {
    return this.run(() => this.store.read(jobId));
  }

  /** A subscription began: lines from now on are its events. */
  follow(jobId: string): void {
    if (this.followed.has(jobId)) return;
    this.followed.set(jobId, null);
    this.run(() => this.store.lastSeq(jobId)).then(
      (seq) => this.followed.get(jobId) === null && this.followed.set(jobId, seq),
      (error) => this.onError(error),
    );
  }

  stop(): void {
    clearInterval(this.timer);
    this.followed.clear();
  }

  private onSignal(signal: QueueSignal): void {
    if (signal.kind !== 'log' || signal.origin === this.origin || !signal.log) return;
    const jobId = signal.ids[0];
    if (!this.followed.has(jobId)) return;
    const { seq, at, message } = signal.log;
    if (at !== undefined && message !== undefined) this.offer(jobId, signal.name, seq, { at, message });
    else void this.poll([jobId]);
  }

  /** A line this process wrote or was sent: an event if it is the next one its listeners expect. */
  private offer(jobId: string, name: string, seq: number, line: JobLogLine): void {
    const last = this.followed.get(jobId);
    if (last === undefined || (last !== null && seq <= last)) return;
    // Lines in between were missed (signals lost or crossed): the poll reads them in order.
    if (last !== null && seq > last + 1) return void this.poll([jobId]);
    this.emit(jobId, name, seq, line);
  }

  private emit(jobId: string, name: string, seq: number, line: JobLogLine): void {
    const last = this.followed.get(jobId);
    if (last === undefined || (last !== null && seq <= last)) return;
    this.followed.set(jobId, seq);
    this.watchers.emit(jobId, { type: 'log', jobId, name, line: { at: line.at, message: line.message } });
  }

  /** Reads the lines of followed jobs (all of them, or `only`) past the last one handed on. */
  private async poll(only?: string[]): Promise<void> {
    for (const id of this.followed.keys()) if (!this.watchers.isWatched(id)) this.followed.delete(id);
    if (this.polling || !this.followed.size) return;
    this.polling = true;
    try {
      const positions = (only ?? [...this.followed.keys()]).flatMap((jobId) => {
        const seq = this.followed.get(jobId);
        return seq === null || seq === undefined ? [] : [{ jobId, seq }];
      });
      for (const chunk of chunksOf(positions, POLL_CHUNK)) {
        for (const line of await this.run(() => this.store.after(chunk))) this.emit(line.jobId, line.name, line.seq, line);
      }
    } catch (error) {
      this.onError(error);
    } finally {
      this.polling = false;
    }
  }
}
