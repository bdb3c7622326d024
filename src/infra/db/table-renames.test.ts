// The `<owner>_<things>` renames on a database that holds rows: every row is found under the new
// name, the indexes follow, and the stores read them.
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlDialects } from '../../../test/support/sql-dialects.js';
import { modules } from '../../modules/index.js';
import { FeedbackStore } from '../../modules/feedback/store.js';
import { infraMigrations } from '../index.js';
import { type QueueTables, SqlQueueStore } from '../queue/sql-queue-store.js';
import { type Database, withTables } from './database.js';
import { type MigrationSet, migrateToLatest } from './migrations.js';

const ROWS = 700; // more than one chunk of a multi-row statement

const rows = <T>(make: (i: number) => T) => Array.from({ length: ROWS }, (_, i) => make(i));
const oldRows = {
  wy_jobs: rows((i) => ({ id: `job-${i}`, name: 'renames', data: `${i}`, state: i % 2 ? 'queued' : 'completed', max_attempts: 3, backoff_ms: 100, run_at: 1_000 + i, created_at: 1_000 + i })),
  wy_counter_counts: rows((i) => ({ key: `/k/${i}`, count: i + 1 })),
  wy_compute_tasks: rows((i) => ({ id: `task-${i}`, status: 'done', result: i / 3, error: null, created_at: i, finished_at: i + 1 })),
  feedback: rows((i) => ({ id: `fb-${i}`, name: `n${i}`, email: '', message: `m${i}`, rating: i % 5, via: 'sync', created_at: i })),
  blobs_pending: rows((i) => ({ key: `k${i}`, version: 'v1', bytes: Buffer.from([i % 256, 0]), size: 2, etag: `e${i}`, content_type: 'a/b', metadata: null, last_modified: i, upload_token: null, upload_lease_until: null, sweep_at: i })),
};

const renamed = { wy_jobs: 'queue_jobs', wy_counter_counts: 'counters_counts', wy_compute_tasks: 'compute_tasks', feedback: 'feedback_entries', blobs_pending: 'fast_tier_pending' } as const;

// the indexes each renamed table had, under their new names
const newIndexes = {
  queue_jobs: ['queue_jobs_created', 'queue_jobs_queued', 'queue_jobs_active_lease'],
  counters_counts: ['counters_counts_rank'],
  compute_tasks: ['compute_tasks_finished_at', 'compute_tasks_created_at'],
  feedback_entries: ['feedback_entries_newest'],
  fast_tier_pending: ['fast_tier_pending_sweep_at'],
};

const allSets: MigrationSet[] = [...infraMigrations, ...modules.flatMap((m) => (m.migrations ? [m.migrations] : []))];
const isRename = (name: string) => name.endsWith('-table-names');
// What a database had before the renames: the migrations written before the first of them (a
// later one, written for the new names, runs after them as it does on an upgrade).
const firstRename = allSets.flatMap((set) => Object.keys(set)).filter(isRename).sort()[0];
const beforeRenames = allSets.map((set) => Object.fromEntries(Object.entries(set).filter(([name]) => name < firstRename)));

const byFirstColumn = (rows: object[]) => rows.map((row) => Object.values(row)).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));

async function indexNames(database: Database, table: string): Promise<string[]> {
  const query =
    database.dialect === 'postgres'
      ? sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema() and tablename = ${table}`
      : sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table}`;
  return (await query.execute(database.db)).rows.map((row) => row.name);
}

function renamesKeepRows(open: () => Promise<{ database: Database; drop(): Promise<void> }>) {
  let opened: { database: Database; drop(): Promise<void> } | undefined;
  afterAll(async () => {
    await opened?.database.close();
    await opened?.drop();
  });

  it('finds every row of the old tables in the new ones, with their indexes', async () => {
    opened = await open();
    const { database } = opened;
    await migrateToLatest(database, beforeRenames);
    const db = database.db.withTables<Record<string, Record<string, unknown>>>();
    for (const [table, rows] of Object.entries(oldRows)) await db.insertInto(table).values(rows).execute();
    await db.updateTable('wy_counter_totals').set({ total: 12_345, unique_keys: ROWS }).where('id', '=', 1).execute();

    const ran = await migrateToLatest(database, allSets);
    expect(ran.sort()).toEqual(allSets.flatMap((set) => Object.keys(set).filter((name) => name >= firstRename)).sort());

    for (const [from, to] of Object.entries(renamed)) {
      const rows = oldRows[from as keyof typeof oldRows];
      const columns = Object.keys(rows[0]);
      const found = await db.selectFrom(to).select(columns).execute();
      expect(byFirstColumn(found), to).toEqual(byFirstColumn(rows));
      await expect(db.selectFrom(from).select(columns[0]).execute(), from).rejects.toThrow();
      const indexes = await indexNames(database, to);
      expect(indexes, to).toEqual(expect.arrayContaining(newIndexes[to]));
      expect(indexes.filter((name) => name.startsWith(`${from}_`) && !name.startsWith(`${to}_`)), to).toEqual([]);
    }
    expect(await db.selectFrom('counters_totals').select(['total', 'unique_keys']).execute()).toEqual([{ total: 12_345, unique_keys: ROWS }]);

    // the stores read and write the renamed tables, through their (recreated) indexes
    expect((await new FeedbackStore(database).page(1, 3)).entries.map((entry) => entry.id)).toEqual([`fb-${ROWS - 1}`, `fb-${ROWS - 2}`, `fb-${ROWS - 3}`]);
    const queue = new SqlQueueStore(withTables<QueueTables>(database).db, database.dialect);
    expect((await queue.claim('renames', 2, 'w1', 10_000, 1_000)).map((row) => row.id).sort()).toEqual(['job-1', 'job-3']);
  });
}

for (const dialect of await sqlDialects()) {
  describe.skipIf(!dialect.available)(`table renames on ${dialect.name}`, () => renamesKeepRows(dialect.open));
}
