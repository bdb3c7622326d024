// Benchmark: what one claim through the group gate (sql-queue-groups.ts) costs while a group is
// full, against the length of that group's backlog — the case of a webhook endpoint that is down
// with its deliveries piling up, or a crawl of one slow host. Each claim asks for 96 jobs (the
// free slots of a worker of 128 with one endpoint's 32 taken) and, the only group being full,
// gets none; a second group with room sits behind the backlog, and a claim must reach it. The
// ceiling is the same claim with a backlog of 1,000: a claim whose cost does not grow with the
// backlog reaches a ratio near 1. SQLite and PostgreSQL, the real gate on the real schema.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { type Database, openDatabase, withTables } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrations.js';
import { queueMigrations } from '../src/infra/queue/migrations.js';
import { type GroupTables, SqlGroupGate } from '../src/infra/queue/sql-queue-groups.js';
import { createTestDatabase, needService } from '../test/support/services.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';
import { median } from './lib/median.js';

const QUICK = quickMode();
const BACKLOGS = QUICK ? [1_000, 10_000] : [1_000, 50_000];
const CLAIMS = QUICK ? 20 : 60;
const GROUP_CONCURRENCY = 32;
const FREE_SLOTS = 96;
const NAME = 'bench.deliver';

/** `backlog` queued jobs of group "busy" with GROUP_CONCURRENCY of its jobs active, then 5 of "other". */
async function fill(database: Database, backlog: number): Promise<void> {
  const db = withTables<GroupTables>(database).db;
  await sql`delete from queue_jobs`.execute(db);
  const now = Date.now();
  const row = (id: string, state: 'queued' | 'active', group: string, at: number) => ({ id, name: NAME, data: '{}', state, max_attempts: 1, backoff_ms: 0, run_at: at, created_at: at, job_group: group, lease_until: state === 'active' ? now + 600_000 : null });
  const rows = [
    ...Array.from({ length: GROUP_CONCURRENCY }, (_, i) => row(`active-${i}`, 'active', 'busy', now)),
    ...Array.from({ length: backlog }, (_, i) => row(`busy-${i}`, 'queued', 'busy', now + i)),
    ...Array.from({ length: 5 }, (_, i) => row(`other-${i}`, 'queued', 'other', now + backlog + i)),
  ];
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('queue_jobs').values(rows.slice(i, i + 500)).execute();
  // the fill's own write-ahead log checkpointed (SQLite), the planner's statistics current
  // (PostgreSQL): the claims are timed, not the aftermath of 50,000 inserts
  if (database.dialect === 'postgres') await sql`analyze queue_jobs`.execute(db);
  else await sql`pragma wal_checkpoint(truncate)`.execute(db);
}

/** Milliseconds of each of CLAIMS claims; the jobs of "other" a claim takes are put back after it. */
async function claimCosts(database: Database): Promise<number[]> {
  const db = withTables<GroupTables>(database).db;
  const gate = new SqlGroupGate(db, database.dialect);
  const times: number[] = [];
  for (let i = 0; i < CLAIMS; i++) {
    const started = performance.now();
    const claimed = await gate.claim(NAME, { concurrency: GROUP_CONCURRENCY, rate: null }, FREE_SLOTS, 'bench', Date.now(), 600_000);
    times.push(performance.now() - started);
    if (claimed.length !== 5 || claimed.some((job) => !job.id.startsWith('other-'))) throw new Error(`the claim took ${claimed.map((job) => job.id).join(', ') || 'nothing'}: the group behind the backlog was not reached`);
    await db.updateTable('queue_jobs').set({ state: 'queued', attempts: 0 }).where('id', 'in', claimed.map((job) => job.id)).execute();
  }
  return times;
}

async function measure(label: string, open: () => Promise<{ database: Database; close(): Promise<void> }>): Promise<BenchRow> {
  const { database, close } = await open();
  try {
    await migrateToLatest(database, [queueMigrations]);
    // warm-up: the statements prepared and the code compiled before anything is timed
    await fill(database, 100);
    await claimCosts(database);
    // small, large, small, large: the machine's drift falls on both alike
    const costs: number[][] = BACKLOGS.map(() => []);
    for (let round = 0; round < 2; round++) {
      for (const [i, backlog] of BACKLOGS.entries()) {
        await fill(database, backlog);
        costs[i].push(...(await claimCosts(database)));
      }
    }
    const [small, large] = costs.map(median);
    return {
      figure: `${label}: one claim while a group is full, ${BACKLOGS[1].toLocaleString('en')} of its jobs queued (median of ${CLAIMS * 2})`,
      value: large,
      unit: 'ms',
      ceiling: { name: `the same claim, ${BACKLOGS[0].toLocaleString('en')} queued`, value: small },
      ratio: large / small,
      goal: '≤ 1.5 × ceiling',
      met: large / small <= 1.5,
    };
  } finally {
    await close();
  }
}

const rows: BenchRow[] = [];
const notes = [
  `The claim asks for ${FREE_SLOTS} jobs; ${GROUP_CONCURRENCY} jobs of the full group are active (its groupConcurrency), its backlog queued, and 5 jobs of a second group queued after the backlog, which every claim must take (the bench fails otherwise). Each claim is timed from the gate's transaction to its commit.`,
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-group-claims-'));
try {
  rows.push(await measure('SQLite', async () => {
    const database = openDatabase({ dataDir: tmp, timeoutMs: 30_000 });
    return { database, close: () => database.close() };
  }));
  if (await needService('postgres')) {
    rows.push(await measure('PostgreSQL', async () => {
      const target = await createTestDatabase();
      const database = openDatabase({ url: target.url, dataDir: tmp, timeoutMs: 30_000 });
      return { database, close: async () => { await database.close(); await target.drop(); } };
    }));
  } else notes.push('PostgreSQL did not answer: its row was not measured.');
  recordSection({ module: 'queue-group-claims', command: `npm run bench:queue-group-claims${QUICK ? ' -- --quick' : ''}`, notes, rows });
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
