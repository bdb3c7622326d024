// What the conformance suite cannot see of job logs on the SQL driver, on SQLite and PostgreSQL:
// a job removed by retention takes its lines with it, and a line logged for a job that is gone is
// not stored.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { type Database, openDatabase, withTables } from '../db/database.js';
import type { JobQueue } from './contract.js';
import { SqlJobLogStore } from './sql-queue-logs.js';
import { type QueueTables, SqlQueueStore } from './sql-queue-store.js';

const setups = await Promise.all((['sql on sqlite', 'sql on postgres'] as const).map(queueSetup));

for (const { label, available, create } of setups) {
  describe.skipIf(!available)(`${label}: job logs on the SQL driver`, () => {
    const opened: JobQueue[] = [];
    const databases: Database[] = [];
    const disposals: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((queue) => queue.close(0)));
      for (const database of databases) await database.close();
      for (const dispose of disposals) await dispose();
    });

    it('retention removes a finished job with its lines; a line for a job that is gone is not stored', async () => {
      const { config, dispose } = await create();
      disposals.push(dispose);
      const queue = await openTestQueue(config);
      opened.push(queue);
      const name = `retained-${randomBytes(4).toString('hex')}`;
      queue.process(name, async (job) => {
        await job.log('one');
        await job.log('two');
      });
      await queue.startWorkers();
      const [old, kept] = [await queue.enqueue(name, null), await queue.enqueue(name, null, { delayMs: 60_000 })];
      await queue.waitForFinish(old.id, 10_000);
      const database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, timeoutMs: 5_000 });
      databases.push(database);
      const lineCount = async (id: string) =>
        Number((await sql<{ n: number }>`select count(*) as n from queue_job_logs where job_id = ${id}`.execute(database.db)).rows[0].n);
      expect(await lineCount(old.id)).toBe(2);

      const jobs = new SqlQueueStore(withTables<QueueTables>(database).db, database.dialect);
      expect(await jobs.removeFinishedBefore(Date.now() + 1)).toBe(1);
      expect(await queue.getLogs(old.id)).toBeNull();
      expect(await lineCount(old.id)).toBe(0);
      expect(await queue.getLogs(kept.id)).toEqual([]);

      expect(await new SqlJobLogStore(database.db).append(old.id, { at: Date.now(), message: 'late' })).toBeNull();
      expect(await lineCount(old.id)).toBe(0);
    });
  });
}
