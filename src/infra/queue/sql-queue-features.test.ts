// What the conformance suite cannot see of queue I on the SQL driver, on SQLite and PostgreSQL:
// the migration over a table that already has jobs, keys taken by racing instances while workers
// claim, a delayed job of high priority on a busy queue, and that plain jobs cost no statement
// more than before (no promotion of delayed jobs per claim).
import { randomBytes } from 'node:crypto';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { sql } from 'kysely';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type QueueConfig, openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrations.js';
import type { JobQueue, JobRecord } from './contract.js';
import { queueMigrations } from './migrations.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const uniqueName = (what: string) => `${what}-${randomBytes(4).toString('hex')}`;

const FIRST_QUEUE_ONE_MIGRATION = '20261205-00-queue-run-times-priorities-keys';

/** Counts the statements the queue runs on its table: all of them, and the promotions of delayed jobs. */
function statementCounter(): { plugin: KyselyPlugin; all(): number; promotions(): number } {
  let all = 0;
  let promotions = 0;
  const plugin: KyselyPlugin = {
    transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
      const text = node.kind === 'RawNode' ? node.sqlFragments.join('?') : '';
      // PostgreSQL's notifications go through the same connection; they are signals, not queue statements
      if (!text.includes('pg_notify')) all++;
      if (/^\s*update queue_jobs set state = 'queued' where name/.test(text)) promotions++;
      return node;
    },
    async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      return result;
    },
  };
  return { plugin, all: () => all, promotions: () => promotions };
}

const setups = await Promise.all((['sql on sqlite', 'sql on postgres'] as const).map(queueSetup));

for (const { label, available, create } of setups) {
  describe.skipIf(!available)(`${label}: queue I on the SQL driver`, () => {
    const opened: JobQueue[] = [];
    const databases: Database[] = [];
    const disposals: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((queue) => queue.close(0)));
      for (const database of databases) await database.close();
      for (const dispose of disposals) await dispose();
    });
    const fresh = async (): Promise<QueueConfig> => {
      const { config, dispose } = await create();
      disposals.push(dispose);
      return config;
    };
    const open = async (config: QueueConfig, tuning: { pollMs?: number } = {}, plugin?: KyselyPlugin) => {
      const queue = await openTestQueue(config, tuning, undefined, plugin);
      opened.push(queue);
      return queue;
    };
    const openDb = (config: QueueConfig) => {
      const database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, timeoutMs: 5_000 });
      databases.push(database);
      return database;
    };

    it('migrates a table that has jobs: a queued job not due yet becomes delayed, the others keep their state, all get priority 5', async () => {
      const config = await fresh();
      const database = openDb(config);
      const before = Object.fromEntries(Object.entries(queueMigrations).filter(([name]) => name < FIRST_QUEUE_ONE_MIGRATION));
      await migrateToLatest(database, [before]);
      const name = uniqueName('migrated');
      const now = Date.now();
      const row = (id: string, state: string, runAt: number, finishedAt: number | null = null) =>
        sql`insert into queue_jobs (id, name, data, state, max_attempts, backoff_ms, run_at, created_at, finished_at)
          values (${id}, ${name}, ${JSON.stringify({ id })}, ${state}, 1, 1000, ${runAt}, ${now - 1_000}, ${finishedAt})`.execute(database.db);
      await row('due', 'queued', now - 500);
      await row('later', 'queued', now + 1_500);
      await row('done', 'completed', now - 900, now - 800);
      await migrateToLatest(database, [queueMigrations]);

      const queue = await open(config);
      expect(await queue.getJob('due')).toMatchObject({ state: 'queued', priority: 5, timeoutMs: null, group: null, key: null });
      expect(await queue.getJob('later')).toMatchObject({ state: 'delayed', priority: 5, runAt: now + 1_500 });
      expect(await queue.getJob('done')).toMatchObject({ state: 'completed', priority: 5 });
      expect((await queue.counts())[name]).toMatchObject({ queued: 1, delayed: 1, completed: 1 });
      queue.process(name, async (job) => job.data);
      await queue.startWorkers();
      expect(await queue.waitForFinish('due', 10_000)).toMatchObject({ state: 'completed', result: { id: 'due' } });
      const later = await queue.waitForFinish('later', 10_000);
      expect(later).toMatchObject({ state: 'completed', result: { id: 'later' } });
      expect(later.startedAt!).toBeGreaterThanOrEqual(now + 1_500);
    });

    it('plain jobs: one statement to enqueue, and no promotion of delayed jobs per claim (only at start and per poll)', async () => {
      const config = await fresh();
      const statements = statementCounter();
      const queue = await open(config, { pollMs: 60_000 }, statements.plugin);
      const name = uniqueName('plain');
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) ids.push((await queue.enqueue(name, i)).id);
      expect(statements.all()).toBe(100);
      queue.process(name, async (job) => job.data, { concurrency: 1 });
      await queue.startWorkers();
      for (const id of ids) expect((await queue.waitForFinish(id, 20_000)).state).toBe('completed');
      // 100 claims of one job each; the promotion ran once, when the worker started
      expect(statements.promotions()).toBe(1);
    });

    it('a delayed job of priority 1 that comes due while the queue is busy runs next, not after the queued jobs, and the rest run on', async () => {
      const config = await fresh();
      // No poll to help: the worker's own note of the run time must bring the job in.
      const queue = await open(config, { pollMs: 60_000 });
      const name = uniqueName('busy');
      const order: string[] = [];
      queue.process(name, async (job) => {
        order.push(job.data as string);
        await sleep(5);
      });
      await queue.enqueueBulk(Array.from({ length: 300 }, (_, i) => ({ name, data: `plain-${i}` })));
      await queue.startWorkers();
      const urgent = await queue.enqueue(name, 'urgent', { delayMs: 300, priority: 1 });
      expect(urgent.state).toBe('delayed');
      const done = await queue.waitForFinish(urgent.id, 20_000);
      expect(done.startedAt!).toBeGreaterThanOrEqual(urgent.runAt);
      // 300 jobs of at least 5 ms each take at least 1.5 s; it was due after 0.3 s
      expect(order.indexOf('urgent')).toBeGreaterThan(0);
      expect(order.indexOf('urgent')).toBeLessThan(200);
      // and the worker goes on: a promotion while every slot was busy once left it idle until the poll
      await vi.waitFor(() => expect(order).toHaveLength(301), { timeout: 30_000, interval: 50 });
    });

    it('a delayed job whose run time has come reads queued, in its record and in counts, before any worker promotes it', async () => {
      const config = await fresh();
      const queue = await open(config);
      const name = uniqueName('due-unclaimed');
      const job = await queue.enqueue(name, null, { delayMs: 300 });
      expect(job.state).toBe('delayed');
      expect((await queue.counts())[name]).toMatchObject({ delayed: 1, queued: 0 });
      // no worker of this name runs anywhere: the row stays delayed, the job is due all the same
      await vi.waitFor(async () => expect((await queue.getJob(job.id))!.state).toBe('queued'), { timeout: 5_000, interval: 50 });
      expect((await queue.counts())[name]).toMatchObject({ delayed: 0, queued: 1 });
      expect((await queue.listRecent({ name }))[0].state).toBe('queued');
      const database = openDb(config);
      const stored = await sql<{ state: string }>`select state from queue_jobs where id = ${job.id}`.execute(database.db);
      expect(stored.rows[0].state).toBe('delayed');
    });

    it('a delayed job enqueued by another instance runs on this one when due', async () => {
      const config = await fresh();
      const worker = await open(config);
      const producer = await open(config);
      const name = uniqueName('elsewhere');
      worker.process(name, async () => 'ran');
      await worker.startWorkers();
      const job = await producer.enqueue(name, null, { delayMs: 400 });
      const done = await worker.waitForFinish(job.id, 10_000);
      expect(done).toMatchObject({ state: 'completed', result: 'ran' });
      expect(done.startedAt!).toBeGreaterThanOrEqual(job.runAt);
    });

    for (const keyMode of ['replace', 'debounce'] as const) {
      it(`${keyMode}: enqueues of a few keys racing on two instances while a third claims: each stores its data, one job per key waits, none runs twice`, async () => {
        const config = await fresh();
        const [worker, a, b] = [await open(config), await open(config), await open(config)];
        const name = uniqueName(`race-${keyMode}`);
        const runs: string[] = [];
        worker.process(
          name,
          async (job) => {
            runs.push(job.id);
            await sleep(2);
            return job.data;
          },
          { concurrency: 3 },
        );
        await worker.startWorkers();
        const keys = ['k0', 'k1', 'k2', 'k3'];
        const database = openDb(config);
        let mostWaiting = 0;
        const watching = (async () => {
          for (let i = 0; i < 40; i++) {
            const rows = await sql<{ job_key: string; waiting: number }>`select job_key, count(*) as waiting from queue_jobs
              where name = ${name} and state in ('queued', 'delayed') group by job_key`.execute(database.db);
            mostWaiting = Math.max(mostWaiting, ...rows.rows.map((row) => Number(row.waiting)));
            await sleep(10);
          }
        })();
        const records: { key: string; data: number; record: JobRecord }[] = [];
        await Promise.all(
          Array.from({ length: 120 }, async (_, i) => {
            await sleep(i % 7);
            const key = keys[i % keys.length];
            const record = await (i % 2 ? a : b).enqueue(name, i, { key, keyMode, delayMs: keyMode === 'debounce' ? 20 : undefined });
            records.push({ key, data: i, record });
          }),
        );
        await watching;
        // replace and debounce always store: the job that holds the key after the call has its data
        for (const { key, data, record } of records) expect(record).toMatchObject({ key, data, name });
        expect(mostWaiting).toBeLessThanOrEqual(1);
        await vi.waitFor(
          async () => {
            const counts = (await worker.counts())[name];
            expect(counts.queued + counts.delayed + counts.active).toBe(0);
          },
          { timeout: 20_000, interval: 50 },
        );
        expect(new Set(runs).size).toBe(runs.length);
        // the last job of each key ran, with the data of an enqueue of that key
        const held = await sql<{ id: string; job_key: string; data: string; state: string }>`select id, job_key, data, state from queue_jobs
          where name = ${name} and held_key is not null`.execute(database.db);
        expect(held.rows.map((row) => row.job_key).sort()).toEqual(keys);
        for (const row of held.rows) {
          expect(row.state).toBe('completed');
          expect(records.some((r) => r.key === row.job_key && r.data === JSON.parse(row.data))).toBe(true);
        }
      });
    }

    it('enqueueBulk honours run times, priorities, keys and timeouts, in order', async () => {
      const config = await fresh();
      const queue = await open(config);
      const name = uniqueName('bulk-options');
      const ids = await queue.enqueueBulk([
        { name, data: 'plain' },
        { name, data: 'first', options: { key: 'k', keyMode: 'replace', delayMs: 60_000 } },
        { name, data: 'later', options: { runAt: Date.now() + 60_000, priority: 2, timeoutMs: 1_000, group: 'host-a' } },
        { name, data: 'second', options: { key: 'k', keyMode: 'replace', priority: 1 } },
        { name, data: 'kept', options: { key: 'k' } },
      ]);
      expect(ids).toHaveLength(5);
      expect(ids[1]).toBe(ids[3]);
      expect(ids[4]).toBe(ids[1]);
      expect(new Set(ids).size).toBe(3);
      expect(await queue.getJob(ids[0])).toMatchObject({ state: 'queued', priority: 5, key: null });
      expect(await queue.getJob(ids[1])).toMatchObject({ state: 'queued', data: 'second', priority: 1, key: 'k' });
      expect(await queue.getJob(ids[2])).toMatchObject({ state: 'delayed', priority: 2, timeoutMs: 1_000, group: 'host-a' });
      await expect(queue.enqueueBulk([{ name, data: 'ok' }, { name, data: 'bad', options: { priority: 0 } }])).rejects.toBeInstanceOf(RangeError);
      expect((await queue.counts())[name]).toMatchObject({ queued: 2, delayed: 1 });
    });

    it('a keyed job with a chosen id that is already stored is that job', async () => {
      const config = await fresh();
      const queue = await open(config);
      const name = uniqueName('key-and-id');
      const id = `chosen-${randomBytes(3).toString('hex')}`;
      const first = await queue.enqueue(name, 1, { jobId: id });
      expect(await queue.enqueue(name, 2, { jobId: id, key: 'k', keyMode: 'replace' })).toMatchObject({ id, data: 1, key: null });
      const keyed = await queue.enqueue(name, 3, { key: 'k' });
      expect(keyed.id).not.toBe(first.id);
    });
  });
}
