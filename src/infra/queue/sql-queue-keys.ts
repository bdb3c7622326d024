// Keys on the SQL queue: at most one job of a name holds a key at a time. The holder's row has the
// key in `held_key`, under a unique partial index (name, held_key), so taking a key is one INSERT …
// ON CONFLICT: atomic across processes on both dialects, with no transaction and no lock of ours.
// When the key is not free, the holder's row answers (keep) or is updated in the same statement
// (replace, debounce, while it is still queued or delayed). A holder that has started (replace,
// debounce) or whose key outlived its TTL lets go of the key (held_key = null, job_key stays for
// its record), and the insert is tried again: whichever enqueue gets there first takes the key.
import { type Kysely, sql } from 'kysely';
import type { KeyMode } from './contract.js';
import type { JobRow, NewJobRow, QueueTables } from './sql-queue-store.js';

/** a key changing hands this often under one enqueue means something is wrong, not busy */
const MAX_TRIES = 20;

export interface KeyedEnqueueResult {
  /** the job that holds the key now, as it stands */
  row: JobRow;
  /** whether this enqueue stored it: inserted, or updated a queued/delayed holder */
  stored: boolean;
}

/** Enqueues `row` (whose held_key is its key) under the key's mode; `now` decides TTL expiry. */
export async function enqueueKeyed(db: Kysely<QueueTables>, row: NewJobRow & { held_key: string }, mode: KeyMode, now: number): Promise<KeyedEnqueueResult> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const stored = await insertOrUpdateHolder(db, row, mode);
    if (stored) return { row: stored, stored: true };
    const holder = await db.selectFrom('queue_jobs').selectAll().where('name', '=', row.name).where('held_key', '=', row.held_key).executeTakeFirst();
    // The holder let go of the key (or was removed) since the insert: try again.
    if (!holder) continue;
    if (mayTakeFrom(holder, mode, now)) await letGo(db, holder, mode, now);
    else if (mode === 'keep') return { row: holder, stored: false };
    // Otherwise (replace, debounce) the holder is queued or delayed: a new job took the key since
    // the insert, and it is the one to update now.
  }
  throw new Error(`the key ${JSON.stringify(row.held_key)} of ${row.name} changed hands ${MAX_TRIES} times during one enqueue`);
}

/** Inserts the job, or (replace, debounce) updates a queued or delayed holder; undefined when the holder stays as it is. */
async function insertOrUpdateHolder(db: Kysely<QueueTables>, row: NewJobRow, mode: KeyMode): Promise<JobRow | undefined> {
  return db
    .insertInto('queue_jobs')
    .values(row)
    .onConflict((conflict) => {
      const onKey = conflict.columns(['name', 'held_key']).where('held_key', 'is not', null);
      if (mode === 'keep') return onKey.doNothing();
      return onKey
        .doUpdateSet((eb) => ({
          data: eb.ref('excluded.data'),
          run_at: eb.ref('excluded.run_at'),
          state: eb.ref('excluded.state'),
          // replace takes every option the contract names; debounce only moves the run time
          ...(mode === 'replace' ? { priority: eb.ref('excluded.priority'), timeout_ms: eb.ref('excluded.timeout_ms') } : {}),
        }))
        .where(sql<boolean>`queue_jobs.state in ('queued', 'delayed')`);
    })
    .returningAll()
    .executeTakeFirst();
}

/** Whether a new job may take the key from its holder: the holder's TTL ran out, or (replace, debounce) it has started. */
function mayTakeFrom(holder: JobRow, mode: KeyMode, now: number): boolean {
  const expired = holder.finished_at !== null && holder.key_ttl_ms !== null && Number(holder.finished_at) + Number(holder.key_ttl_ms) <= now;
  return expired || (mode !== 'keep' && holder.state !== 'queued' && holder.state !== 'delayed');
}

/** The holder lets go of the key, if it still holds it and still may be taken from (checked in the statement, against a concurrent enqueue or claim). */
async function letGo(db: Kysely<QueueTables>, holder: JobRow, mode: KeyMode, now: number): Promise<void> {
  const expired = sql`(finished_at is not null and key_ttl_ms is not null and finished_at + key_ttl_ms <= ${now})`;
  const started = sql`state not in ('queued', 'delayed')`;
  await sql`update queue_jobs set held_key = null
    where id = ${holder.id} and held_key = ${holder.held_key} and ${mode === 'keep' ? expired : sql`(${expired} or ${started})`}`.execute(db);
}
