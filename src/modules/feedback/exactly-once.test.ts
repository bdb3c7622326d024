// Exactly once: 2,000 saves are queued through the API while the worker process saving them is
// killed (SIGKILL, no chance to clean up) and restarted, twice: on the SQL queue over SQLite and
// over PostgreSQL, and on BullMQ with the records in PostgreSQL. The jobs it held are run again by
// the next worker once their lease runs out; the job id being the row id, every submission ends up
// stored once: exactly 2,000 rows, the 2,000 task ids, every job completed.
//
// Each kill lands while the worker holds claimed, unfinished jobs, by construction: the worker
// (test/support/feedback-worker-child.ts) is told to hold the saves it starts, and is killed once it
// holds some. The first kill holds them before they store their row, the second after (the case
// exactly-once is about: stored, but the queue never heard). Killing at a moment chosen by timing
// alone often found the SQLite worker between batches, holding nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { FEEDBACK_SAVE_JOB, type FeedbackSaveResult } from './jobs.js';
import { driverMatrix } from '../../../test/support/drivers.js';
import type { FromWorker, HoldPoint } from '../../../test/support/feedback-worker-child.js';
import { tablesOf } from '../../../test/support/tables.js';

const setups = await driverMatrix();
const ROOT = path.resolve(import.meta.dirname, '../../..');
const TOTAL = 2000;

interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<NodeJS.Signals | number | null>;
  /** the jobs it holds, told to hold (in the order they stopped) */
  held: string[];
}

/** `workyard worker` in a process of its own (tsx instead of the build), whose saves can be held. */
function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/feedback-worker-child.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  const held: string[] = [];
  child.on('message', (message: FromWorker) => 'held' in message && held.push(message.held));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, output: () => output, exited, held };
}

async function kill(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBe('SIGKILL');
}

for (const driver of setups) {
  const { dialect, queue, available } = driver;
  describe.skipIf(!available)(`queued feedback saves, ${queue} queue, records in ${dialect}`, () => {
    const cleanups: (() => Promise<unknown> | unknown)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it(`stores exactly ${TOTAL} rows for ${TOTAL} queued saves while the worker is SIGKILLed and restarted twice`, { timeout: 180_000 }, async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-feedback-once-'));
      cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
      const drivers = await driver.setUp();
      cleanups.push(() => drivers.cleanup());
      const env: Record<string, string> = {
        ...drivers.env,
        WORKYARD_DATA_DIR: dataDir,
        WORKYARD_LOG_LEVEL: 'warn',
        WORKYARD_SHUTDOWN_TIMEOUT_MS: '1000',
        // a killed worker's jobs come back after 5 s instead of the default 30 s
        WORKYARD_QUEUE_LEASE_MS: '5000',
      };

      // The API only (as `workyard serve`): it enqueues, it never runs a job.
      const api: TestWorkyard = await startTestWorkyard(env, { worker: false });
      cleanups.push(() => api.close());
      const { app, ctx } = api.workyard;
      expect(ctx.queue.driver).toBe(queue);
      const countRows = async () => Number((await tablesOf(ctx.database).selectFrom('feedback_entries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

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

      // Kill while it works, after it has saved `rows`, and only once it holds jobs it cannot
      // finish: told to hold, each save it starts stops at the hold point; the kill waits for one.
      // At the kill, the jobs it held are claimed and unfinished (active in the queue), with their
      // rows not yet stored (before-save) or stored (after-save).
      const countRowsOf = async (ids: string[]) => Number((await tablesOf(ctx.database).selectFrom('feedback_entries').select((eb) => eb.fn.countAll().as('n')).where('id', 'in', ids).executeTakeFirstOrThrow()).n);
      const holdAndKill = async (point: HoldPoint, rows: number): Promise<string[]> => {
        const worker = workers.at(-1)!;
        await expect.poll(countRows, { timeout: 60_000 }).toBeGreaterThanOrEqual(rows);
        worker.child.send({ hold: point });
        await expect.poll(() => worker.held.length, { timeout: 60_000 }).toBeGreaterThan(0);
        await kill(worker);
        const held = [...worker.held];
        const states = await Promise.all(held.map(async (id) => (await ctx.queue.getJob(id))?.state));
        expect(states, `the jobs the worker held at the kill (${point})`).toEqual(held.map(() => 'active'));
        expect(await countRowsOf(held), `rows stored by the jobs held ${point}`).toBe(point === 'after-save' ? held.length : 0);
        startNextWorker();
        return held;
      };
      let heldBeforeSave: string[] = [];
      let heldAfterSave: string[] = [];
      try {
        heldBeforeSave = await holdAndKill('before-save', 200);
        heldAfterSave = await holdAndKill('after-save', 900);
        await enqueueing;

        // The jobs the killed workers held come back when their lease (BullMQ: lock) runs out.
        await vi.waitUntil(async () => { const c = (await ctx.queue.counts())[FEEDBACK_SAVE_JOB]; return c !== undefined && c.completed + c.failed === TOTAL; }, { timeout: 120_000 });
      } catch (error) {
        for (const [i, worker] of workers.entries()) console.error(`worker ${i} (pid ${worker.child.pid}) output:\n${worker.output()}`);
        const stuck = await tablesOf(ctx.database).selectFrom('queue_jobs').select(['id', 'locked_by', 'lease_until', 'attempts']).where('state', '=', 'active').limit(5).execute().catch((e) => e);
        console.error(`at ${Date.now()}, jobs still active:`, stuck);
        throw error;
      }

      expect(new Set(taskIds).size).toBe(TOTAL);
      expect(await countRows()).toBe(TOTAL);
      const ids = (await tablesOf(ctx.database).selectFrom('feedback_entries').select('id').execute()).map((row) => row.id as string);
      expect(new Set(ids)).toEqual(new Set(taskIds));
      const counts = (await ctx.queue.counts())[FEEDBACK_SAVE_JOB];
      expect(counts).toMatchObject({ completed: TOTAL, failed: 0, queued: 0, active: 0 });

      // The kills did interrupt jobs, and every job held at a kill ran again: those held before
      // their save stored their row on the rerun, those held after it found their row stored.
      const jobs = [];
      for (let i = 0; i < taskIds.length; i += 50) jobs.push(...(await Promise.all(taskIds.slice(i, i + 50).map((id) => ctx.queue.getJob(id)))));
      expect(jobs.every((job) => job?.state === 'completed')).toBe(true);
      const byId = new Map(jobs.map((job) => [job!.id, job!]));
      const rerunOf = (ids: string[]) => ids.map((id) => byId.get(id)!).map((job) => ({ again: job.attempts > 1, stored: (job.result as FeedbackSaveResult).stored }));
      expect(rerunOf(heldBeforeSave)).toEqual(heldBeforeSave.map(() => ({ again: true, stored: true })));
      expect(rerunOf(heldAfterSave)).toEqual(heldAfterSave.map(() => ({ again: true, stored: false })));
      const rerun = jobs.filter((job) => job!.attempts > 1);
      const foundTheirRow = rerun.filter((job) => (job!.result as FeedbackSaveResult).stored === false);
      console.log(
        `[exactly-once ${queue}/${dialect}] 2 kills, holding ${heldBeforeSave.length} jobs before their save and ${heldAfterSave.length} after; ${rerun.length} jobs ran again after a kill; ${foundTheirRow.length} of them found their row already stored`,
      );
    });
  });
}
