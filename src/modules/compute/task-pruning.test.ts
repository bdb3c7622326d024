// Old finished sum task records are deleted after the retention, in bounded batches, on SQLite and
// on PostgreSQL; pending records and records younger than the retention stay. A Workyard's worker
// side does it by itself, on a timer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, withTables } from '../../infra/db/database.js';
import { migrateToLatest } from '../../infra/db/migrations.js';
import { driverMatrix } from '../../../test/support/drivers.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { computeModule } from './index.js';
import { computeMigrations } from './migrations.js';
import { type ComputeTables, ComputeTaskStore } from './store.js';
import { TaskPruner } from './task-pruning.js';

const DAY = 24 * 3_600_000;
const NOW = Date.UTC(2026, 10, 27);

// the store alone: one database of each dialect (the SQL queue's setups), no queue
const dialects = (await driverMatrix()).filter((driver) => driver.queue === 'sql');

describe.each(dialects)('compute task pruning on $dialect', ({ available, setUp }) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function openStore(): Promise<{ store: ComputeTaskStore; database: Database }> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-prune-'));
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const drivers = await setUp();
    cleanups.push(() => drivers.cleanup());
    const database = openDatabase({ url: drivers.env.WORKYARD_DATABASE_URL, dataDir, timeoutMs: 5_000 });
    cleanups.push(() => database.close());
    await migrateToLatest(database, [computeMigrations]);
    return { store: new ComputeTaskStore(database), database };
  }

  const count = async (database: Database) => Number((await withTables<ComputeTables>(database).db.selectFrom('compute_tasks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it.skipIf(!available)('deletes finished records past the retention and keeps pending and recent ones', async () => {
    const { store } = await openStore();
    await store.addPending(['old-pending', 'old-done', 'old-failed', 'new-done', 'new-failed'], NOW - 30 * DAY);
    await Promise.all([
      store.recordOutcome('old-done', { status: 'done', result: 1 }, NOW - 8 * DAY),
      store.recordOutcome('old-failed', { status: 'failed', error: 'overflow' }, NOW - 7 * DAY - 1),
      store.recordOutcome('new-done', { status: 'done', result: 2 }, NOW - 6 * DAY),
      store.recordOutcome('new-failed', { status: 'failed', error: 'overflow' }, NOW - 1_000),
    ]);
    const pruner = new TaskPruner(store, { retentionMs: 7 * DAY });
    expect(await pruner.pruneOnce(NOW)).toBe(2);
    expect(await store.get('old-done')).toBeUndefined();
    expect(await store.get('old-failed')).toBeUndefined();
    expect(await store.get('old-pending')).toMatchObject({ status: 'pending' });
    expect(await store.get('new-done')).toMatchObject({ status: 'done', result: 2 });
    expect(await store.get('new-failed')).toMatchObject({ status: 'failed' });
    expect(await pruner.pruneOnce(NOW)).toBe(0);
  });

  it.skipIf(!available)('deletes in batches of at most batchSize records until none is left', async () => {
    const { store, database } = await openStore();
    const ids = Array.from({ length: 1_234 }, (_, i) => `task-${i}`);
    await store.addPending([...ids, 'pending-1', 'pending-2'], NOW - 20 * DAY);
    await Promise.all(ids.map((id, i) => store.recordOutcome(id, { status: 'done', result: i }, NOW - 10 * DAY + i)));
    // One batch is one bounded DELETE: it never takes more than asked.
    expect(await store.pruneFinishedBefore(NOW - 7 * DAY, 100)).toBe(100);
    const batches: number[] = [];
    const counting = Object.create(store) as ComputeTaskStore;
    counting.pruneFinishedBefore = async (cutoff, limit) => {
      const deleted = await store.pruneFinishedBefore(cutoff, limit);
      batches.push(deleted);
      return deleted;
    };
    const pruner = new TaskPruner(counting, { retentionMs: 7 * DAY, batchSize: 250, pauseMs: 1 });
    expect(await pruner.pruneOnce(NOW)).toBe(1_134);
    expect(batches).toEqual([250, 250, 250, 250, 134]);
    expect(await count(database)).toBe(2);
  });
});

describe('a Workyard with workers prunes by itself', () => {
  it('removes a finished task record once it is older than WORKYARD_COMPUTE_TASK_RETENTION_MS', async () => {
    const wy = await startTestWorkyard({ WORKYARD_COMPUTE_TASK_RETENTION_MS: '1000' });
    try {
      const posted = await fetch(`${wy.baseUrl}/async/post_task`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [1, 2] }) });
      const { session_id: id } = (await posted.json()) as { session_id: string };
      const store = wy.workyard.instanceOf(computeModule).store;
      await expect.poll(() => store.get(id), { timeout: 5_000, interval: 50 }).toMatchObject({ status: 'done', result: 3 });
      // Passes run every second with this retention: the record is gone within a few.
      await expect.poll(() => store.get(id), { timeout: 6_000, interval: 200 }).toBeUndefined();
    } finally {
      await wy.close();
    }
  });
});
