// Exactly once: 2,000 saves are queued through the API while the worker process saving them is
// killed (SIGKILL, no chance to clean up) and restarted, twice: on the SQL queue over SQLite and
// over PostgreSQL, and on BullMQ with the records in PostgreSQL. The jobs it held are run again by
// the next worker once their lease runs out; the job id being the row id, every submission ends up
// stored once: exactly 2,000 rows, the 2,000 task ids, every job completed.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { FEEDBACK_SAVE_JOB } from './jobs.js';
import { eventually, feedbackSetups, queueEnv } from '../../../test/support/feedback.js';

const setups = await feedbackSetups();
const ROOT = path.resolve(import.meta.dirname, '../../..');
const TOTAL = 2000;

interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<NodeJS.Signals | number | null>;
}

/** `workyard worker` in a process of its own, as it runs in production (tsx instead of the build). */
function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, output: () => output, exited };
}

async function kill(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBe('SIGKILL');
}

for (const { dialect, queue, available } of setups) {
  describe.skipIf(!available)(`queued feedback saves, ${queue} queue, records in ${dialect}`, () => {
    const cleanups: (() => Promise<unknown> | unknown)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it(`stores exactly ${TOTAL} rows for ${TOTAL} queued saves while the worker is SIGKILLed and restarted twice`, { timeout: 180_000 }, async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-feedback-once-'));
      cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
      const database = dialect === 'postgres' ? await createTestDatabase() : null;
      if (database) cleanups.push(() => database.drop());
      const queueSetup = queueEnv(queue);
      cleanups.push(() => queueSetup.cleanup());
      const env: Record<string, string> = {
        ...queueSetup.env,
        WORKYARD_DATA_DIR: dataDir,
        WORKYARD_LOG_LEVEL: 'warn',
        WORKYARD_SHUTDOWN_TIMEOUT_MS: '1000',
        // a killed worker's jobs come back after 5 s instead of the default 30 s
        WORKYARD_QUEUE_LEASE_MS: '5000',
        ...(database ? { WORKYARD_DATABASE_URL: database.url } : {}),
      };

      // The API only (as `workyard serve`): it enqueues, it never runs a job.
      const api: TestWorkyard = await startTestWorkyard(env, { worker: false });
      cleanups.push(() => api.close());
      const { app, ctx } = api.workyard;
      expect(ctx.queue.driver).toBe(queue);
      const countRows = async () => Number((await ctx.database.db.selectFrom('feedback').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

      const workers: WorkerProcess[] = [];
      const startNextWorker = () => {
        const worker = startWorker(env);
        workers.push(worker);
        cleanups.push(() => worker.child.exitCode === null && worker.child.signalCode === null && kill(worker));
        return worker;
      };

      // 2,000 submissions over HTTP, 20 at a time, as clients send them
      const taskIds: string[] = [];
      const enqueue = async (from: number, to: number) => {
        for (let i = from; i < to; i += 20) {
          const answers = await Promise.all(
            Array.from({ length: Math.min(20, to - i) }, (_, j) =>
              app.inject({ method: 'POST', url: '/feedback/async', headers: { 'content-type': 'application/json' }, payload: { name: `Person ${i + j}`, email: 'p@example.com', message: `Submission ${i + j}` } }),
            ),
          );
          for (const answer of answers) {
            expect(answer.statusCode).toBe(202);
            taskIds.push(answer.json().task_id);
          }
        }
      };
      // Most before the first worker starts, the rest while it works: with a backlog of several
      // hundred at each kill, every kill finds a worker with jobs in hand (on an idle machine the
      // worker keeps pace with the API, and with half queued first the second kill could find it idle).
      const FIRST = (TOTAL * 4) / 5;
      await enqueue(0, FIRST);
      startNextWorker();
      const enqueueing = enqueue(FIRST, TOTAL);

      // Kill while it is busy: after it has saved some, and only while it holds jobs. (On an idle
      // machine the SQLite worker can clear its backlog between two polls: a kill then interrupts
      // nothing, and the test would prove nothing.)
      const busyAfter = (rows: number) =>
        eventually(
          async () => ({ rows: await countRows(), active: (await ctx.queue.counts())[FEEDBACK_SAVE_JOB]?.active ?? 0 }),
          (seen) => seen.rows >= rows && seen.active > 0,
          60_000,
        );
      // The first kill must interrupt jobs: it can fall between two batches (a claim not yet
      // committed is rolled back, and the worker held nothing), so the next worker is killed too,
      // until a kill leaves jobs active with no one to finish them (one worker runs at a time, and
      // before this kill there is no other orphan). The second kill comes later, on another worker.
      let held = 0;
      try {
        for (let attempt = 0; attempt < 10 && held === 0; attempt++) {
          await busyAfter(200);
          await kill(workers.at(-1)!);
          held = (await ctx.queue.counts())[FEEDBACK_SAVE_JOB]?.active ?? 0;
          startNextWorker();
        }
        expect(held, 'a kill that interrupted jobs').toBeGreaterThan(0);
        await busyAfter(900);
        await kill(workers.at(-1)!);
        startNextWorker();
        await enqueueing;

        // The jobs the killed workers held come back when their lease (BullMQ: lock) runs out.
        await eventually(async () => (await ctx.queue.counts())[FEEDBACK_SAVE_JOB], (c) => c !== undefined && c.completed + c.failed === TOTAL, 120_000);
      } catch (error) {
        for (const [i, worker] of workers.entries()) console.error(`worker ${i} (pid ${worker.child.pid}) output:\n${worker.output()}`);
        const stuck = await ctx.database.db.selectFrom('wy_jobs').select(['id', 'locked_by', 'lease_until', 'attempts']).where('state', '=', 'active').limit(5).execute().catch((e) => e);
        console.error(`at ${Date.now()}, jobs still active:`, stuck);
        throw error;
      }

      expect(new Set(taskIds).size).toBe(TOTAL);
      expect(await countRows()).toBe(TOTAL);
      const ids = (await ctx.database.db.selectFrom('feedback').select('id').execute()).map((row) => row.id as string);
      expect(new Set(ids)).toEqual(new Set(taskIds));
      const counts = (await ctx.queue.counts())[FEEDBACK_SAVE_JOB];
      expect(counts).toMatchObject({ completed: TOTAL, failed: 0, queued: 0, active: 0 });

      // The kills did interrupt jobs: some ran more than once, and those that had already stored
      // their row before the kill found it and stored nothing the second time.
      const jobs = [];
      for (let i = 0; i < taskIds.length; i += 50) jobs.push(...(await Promise.all(taskIds.slice(i, i + 50).map((id) => ctx.queue.getJob(id)))));
      expect(jobs.every((job) => job?.state === 'completed')).toBe(true);
      const rerun = jobs.filter((job) => job!.attempts > 1);
      const foundTheirRow = rerun.filter((job) => (job!.result as { stored: boolean }).stored === false);
      console.log(`[exactly-once ${queue}/${dialect}] ${workers.length - 1} kills, the first that interrupted jobs left ${held} active; ${rerun.length} jobs ran again after a kill; ${foundTheirRow.length} of them found their row already stored`);
      expect(rerun.length).toBeGreaterThan(0);
    });
  });
}
