// Kill a worker mid-job: a worker in a child process takes a job and is SIGKILLed; a worker in
// this process completes the job once the dead worker's lease (BullMQ: lock) has lapsed. On the
// SQL driver over SQLite and PostgreSQL, and on BullMQ.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type QueueConfig, openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import type { JobQueue } from './contract.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const childScript = path.join(root, 'test/support/queue-worker-child.ts');
const tsxLoader = createRequire(import.meta.url).resolve('tsx');
const LEASE_MS = 1_000;

interface Child {
  process: ChildProcess;
  /** resolves with the first stdout line matching */
  line(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

function spawnWorker(config: QueueConfig, jobName: string): Child {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    WORKYARD_DATA_DIR: config.dataDir,
    WORKYARD_REDIS_PREFIX: config.redisPrefix,
    WORKYARD_DEPENDENCY_TIMEOUT_MS: String(config.dependencyTimeoutMs),
    WORKYARD_LOG_LEVEL: 'silent',
    QUEUE_CHILD_JOB: jobName,
    QUEUE_CHILD_LEASE_MS: String(LEASE_MS),
  };
  delete env.WORKYARD_DATABASE_URL;
  delete env.WORKYARD_REDIS_URL;
  if (config.databaseUrl) env.WORKYARD_DATABASE_URL = config.databaseUrl;
  if (config.redisUrl) env.WORKYARD_REDIS_URL = config.redisUrl;
  const child = spawn(process.execPath, ['--import', tsxLoader, childScript], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (chunk) => {
    output += chunk;
    waiters.forEach((wake) => wake());
  });
  child.stderr!.on('data', (chunk) => (errors += chunk));
  return {
    process: child,
    line: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker child said no ${pattern} within ${timeoutMs} ms; stdout: ${output} stderr: ${errors}`)), timeoutMs);
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          }
        };
        waiters.push(check);
        check();
      }),
  };
}

const drivers = await Promise.all((['sql on sqlite', 'sql on postgres', 'bullmq'] as const).map(queueSetup));

for (const driver of drivers) {
  describe.skipIf(!driver.available)(`kill a worker mid-job: ${driver.label}`, () => {
    const cleanups: (() => Promise<unknown> | unknown)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it('another worker completes the job after the dead worker’s lease lapses', async () => {
      const { config, dispose } = await driver.create();
      cleanups.push(dispose);
      const jobName = `kill-${Math.random().toString(36).slice(2, 8)}`;
      // Tables exist before the child starts, so two processes do not race to create them.
      const queue: JobQueue = await openTestQueue(config, { leaseMs: LEASE_MS, stalledCheckMs: LEASE_MS / 2 });
      cleanups.push(() => queue.close(500));

      const child = spawnWorker(config, jobName);
      cleanups.push(() => child.process.kill('SIGKILL'));
      await child.line(/^ready$/m, 30_000);
      const { id } = await queue.enqueue(jobName, { work: 'slow' });
      const [, startedId, attempt] = await child.line(/^started (\S+) (\d+)$/m, 15_000);
      expect([startedId, attempt]).toEqual([id, '1']);
      expect((await queue.getJob(id))!.state).toBe('active');

      const exited = new Promise((resolve) => child.process.once('exit', resolve));
      child.process.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();

      const runs: number[] = [];
      queue.process(jobName, async (job) => {
        runs.push(job.attempt);
        return `completed by the test process on attempt ${job.attempt}`;
      });
      await queue.startWorkers();
      const done = await queue.waitForFinish(id, 20_000);
      expect(done).toMatchObject({ id, state: 'completed', result: 'completed by the test process on attempt 2', attempts: 2 });
      expect(runs).toEqual([2]);
      // Recovered by lease expiry, not at once, and not long after it either.
      expect(done.finishedAt! - killedAt).toBeLessThan(10 * LEASE_MS);
    });
  });
}
