// The operator commands against a real Workyard (SQLite, workers in the same process) with an
// API key: each command is run in-process as main.ts runs it, its output and exit code read back;
// one test spawns `workyard` itself to check the wiring.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { WorkyardModule } from '../app-context.js';
import { modules as allModules } from '../modules/index.js';
import { freePort } from '../../test/support/free-port.js';
import { startTestWorkyard } from '../../test/support/workyard.js';
import { suiteWorkyard } from '../../test/support/suite-workyard.js';
import { queuesCommand } from './queues-cli.js';
import { tasksCommand } from './tasks-cli.js';

const API_KEY = 'cli-test-key';

interface StepsData {
  steps: number;
  stepMs: number;
  /** logs a line per step (ctx.log) */
  log?: boolean;
  /** fails with this message after its steps, while its id is in `failing` (when given) */
  fail?: string;
}

/** Ids of cli.steps jobs that fail; a test deletes one to let its retry succeed. */
const failing = new Set<string>();

// A job of the test's own: steps with a count for the progress bar, optional log lines and failure.
const stepsModule: WorkyardModule = {
  name: 'cli-test',
  create: () => ({
    jobs(queue) {
      queue.process<StepsData, { steps: number }>(
        'cli.steps',
        async (job) => {
          const { steps, stepMs, log, fail } = job.data;
          for (let step = 1; step <= steps; step++) {
            if (log) await job.log(`step ${step} of ${steps}`);
            await sleep(stepMs, undefined, { signal: job.signal });
            await job.reportProgress({ done: step, total: steps });
          }
          if (fail && failing.has(job.id)) throw new Error(fail);
          return { steps };
        },
        { concurrency: 4 },
      );
    },
  }),
};

/** Captures what a command writes. */
function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

// Jobs start within milliseconds; the machine is shared, so wait generously.
const poll = { timeout: 15_000, interval: 50 };

describe('workyard tasks and queues', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_API_KEY: API_KEY }, { modules: [...allModules, stepsModule] }));

  async function run(command: 'tasks' | 'queues', args: string[], env: Record<string, string | undefined> = { WORKYARD_URL: wy.baseUrl, WORKYARD_API_KEY: API_KEY }) {
    const out = sink();
    const err = sink();
    const io = { out: out.stream, err: err.stream, env };
    const code = await (command === 'tasks' ? tasksCommand(args, io) : queuesCommand(args, io));
    return { code, out: out.text(), err: err.text() };
  }

  const enqueueSteps = (data: StepsData, options: { attempts?: number; delayMs?: number; jobId?: string } = {}) => wy.workyard.ctx.queue.enqueue('cli.steps', data, options);
  const state = async (id: string) => (await wy.workyard.ctx.queue.getJob(id))?.state;
  const finished = (id: string) => wy.workyard.ctx.queue.waitForFinish(id, 15_000);

  /** A job that fails (its id in `failing` before it can run); the test may delete it to let a retry pass. */
  async function failingJob(data: StepsData) {
    const jobId = randomUUID();
    failing.add(jobId);
    return enqueueSteps(data, { attempts: 1, jobId });
  }

  async function failedJob(message: string) {
    const job = await failingJob({ steps: 1, stepMs: 1, fail: message });
    await finished(job.id);
    return job;
  }

  it('lists tasks as a table, filtered, and pages with the cursor it prints', async () => {
    const first = await enqueueSteps({ steps: 1, stepMs: 1 });
    const second = await enqueueSteps({ steps: 1, stepMs: 1 });
    const dead = await failedJob('list: it broke\nsecond line of the error');
    await finished(first.id);
    await finished(second.id);

    const all = await run('tasks', ['list', '--name', 'cli.steps']);
    expect(all.code).toBe(0);
    const [header, ...rows] = all.out.trim().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+STATE\s+ATTEMPTS\s+CREATED\s+ERROR$/);
    const deadRow = rows.find((row) => row.startsWith(dead.id));
    expect(deadRow).toMatch(/cli\.steps\s+failed \(dead\)\s+1\/1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+list: it broke second line of the error$/);

    const failedOnly = await run('tasks', ['list', '--name', 'cli.steps', '--state', 'failed']);
    expect(failedOnly.out).toContain(dead.id);
    expect(failedOnly.out).not.toContain(first.id);

    const json = await run('tasks', ['list', '--name', 'cli.steps', '--json']);
    const newestFirst = (JSON.parse(json.out) as { tasks: { id: string }[] }).tasks.map((task) => task.id);
    expect(newestFirst).toEqual(expect.arrayContaining([first.id, second.id, dead.id]));

    // One a page: each printed cursor leads to the next task in the same order.
    const paged: string[] = [];
    let cursor: string[] = [];
    for (let page = 0; page < 3; page++) {
      const result = await run('tasks', ['list', '--name', 'cli.steps', '--limit', '1', '--created-after', '10m', ...cursor]);
      expect(result.code).toBe(0);
      paged.push(result.out.split('\n')[1].split(' ')[0]);
      if (page === 2) break;
      const next = /^next: --cursor (\S+)$/m.exec(result.out)?.[1];
      expect(next).toBeDefined();
      cursor = ['--cursor', next!];
    }
    expect(paged).toEqual(newestFirst.slice(0, 3));
  });

  it('passes a bad filter on as the server words it, naming the option', async () => {
    const result = await run('tasks', ['list', '--state', 'sleeping']);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^workyard tasks list: .*\(--state\) \(400\)\n$/);
  });

  it('shows a dead task with its attempts, error and stack', async () => {
    const job = await failedJob('show: the disk is full');
    const result = await run('tasks', ['show', job.id]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(new RegExp(`^id:\\s+${job.id}$`, 'm'));
    expect(result.out).toMatch(/^state:\s+failed \(dead\)$/m);
    expect(result.out).toMatch(/^attempts:\s+1 of 1$/m);
    expect(result.out).toMatch(/^progress:\s+done 1, total 1$/m);
    expect(result.out).toMatch(/^error:\s+show: the disk is full$/m);
    expect(result.out).toMatch(/^\s*1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+show: the disk is full$/m);
    expect(result.out).toMatch(/^stack:\nError: show: the disk is full\n\s+at /m);
  });

  it('retries a failed task, which goes on to complete, and refuses one that did not fail (409)', async () => {
    const job = await failedJob('retry: not yet');
    failing.delete(job.id);
    const retried = await run('tasks', ['retry', job.id]);
    expect(retried).toMatchObject({ code: 0, err: '' });
    expect(retried.out).toContain(`task ${job.id} queued again`);
    expect((await finished(job.id)).state).toBe('completed');

    const again = await run('tasks', ['retry', job.id]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^workyard tasks retry: .+ \(409 conflict\)\n$/);
  });

  it('retries every failed task of a name', async () => {
    const name = 'cli.steps';
    const jobs = [await failedJob('many: one'), await failedJob('many: two')];
    for (const job of jobs) failing.delete(job.id);
    const result = await run('tasks', ['retry', '--name', name, '--failed-after', '1h']);
    expect(result.code).toBe(0);
    const count = Number(/^retried (\d+) failed cli\.steps tasks?$/m.exec(result.out)?.[1]);
    // Earlier tests' dead jobs of the name count too.
    expect(count).toBeGreaterThanOrEqual(2);
    for (const job of jobs) expect((await finished(job.id)).state).toBe('completed');
  });

  it('cancels a waiting task, aborts a running one, and refuses a finished one (409)', async () => {
    const waiting = await enqueueSteps({ steps: 1, stepMs: 1 }, { delayMs: 60_000 });
    const cancelled = await run('tasks', ['cancel', waiting.id]);
    expect(cancelled).toMatchObject({ code: 0, out: `task ${waiting.id} cancelled\n` });
    expect(await state(waiting.id)).toBe('cancelled');

    const running = await enqueueSteps({ steps: 600, stepMs: 100 });
    await vi.waitUntil(async () => (await state(running.id)) === 'active', poll);
    const cancelling = await run('tasks', ['cancel', running.id]);
    expect(cancelling.code).toBe(0);
    expect(cancelling.out).toContain('is cancelling');
    expect((await finished(running.id)).state).toBe('cancelled');

    const refused = await run('tasks', ['cancel', waiting.id]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('(409 conflict)');
  });

  it('prints a task\'s log lines, and follows them until it ends, each once', async () => {
    const done = await enqueueSteps({ steps: 3, stepMs: 1, log: true });
    await finished(done.id);
    const logs = await run('tasks', ['logs', done.id]);
    expect(logs.code).toBe(0);
    expect(logs.out).toMatch(/^\d{4}-\d\d-\d\dT\S+Z {2}step 1 of 3\n\S+ {2}step 2 of 3\n\S+ {2}step 3 of 3\n$/);

    const running = await enqueueSteps({ steps: 8, stepMs: 150, log: true });
    await vi.waitUntil(async () => (await state(running.id)) === 'active', poll);
    const followed = await run('tasks', ['logs', running.id, '--follow']);
    expect(followed.code).toBe(0);
    expect(followed.out.trim().split('\n').map((line) => line.split('  ')[1])).toEqual(Array.from({ length: 8 }, (_, i) => `step ${i + 1} of 8`));
  });

  it('watches a compute sum task to completion with a bar, exit 0', async () => {
    const created = await fetch(`${wy.baseUrl}/async/post_task`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [40, 2], delay_ms: 300 }) });
    const { session_id: id } = (await created.json()) as { session_id: string };
    const result = await run('tasks', ['watch', id]);
    expect(result).toMatchObject({ code: 0, out: `task ${id} completed: 42\n` });
    expect(result.err).toMatch(/completed 100%/);
  });

  it('watches a task\'s counted progress; exits 1 when it fails', async () => {
    const job = await enqueueSteps({ steps: 4, stepMs: 100 });
    const completed = await run('tasks', ['watch', job.id]);
    expect(completed).toMatchObject({ code: 0, out: `task ${job.id} completed: {"steps":4}\n` });
    expect(completed.err).toContain('completed done 4, total 4');

    const breaking = await failingJob({ steps: 2, stepMs: 100, fail: 'watch: it broke' });
    const failed = await run('tasks', ['watch', breaking.id]);
    expect(failed).toMatchObject({ code: 1, out: `task ${breaking.id} failed: watch: it broke\n` });
  });

  it('watches a running task until it is cancelled, exit 1', async () => {
    const job = await enqueueSteps({ steps: 600, stepMs: 100 });
    await vi.waitUntil(async () => (await state(job.id)) === 'active', poll);
    const watching = run('tasks', ['watch', job.id]);
    await sleep(300);
    expect((await run('tasks', ['cancel', job.id])).code).toBe(0);
    expect(await watching).toMatchObject({ code: 1, out: `task ${job.id} cancelled\n` });
  });

  it('shows each queue, pauses one (its tasks wait), and resumes it (they run)', async () => {
    const before = await run('queues', []);
    expect(before.code).toBe(0);
    const [header] = before.out.split('\n');
    expect(header).toMatch(/^NAME\s+QUEUED\s+DELAYED\s+ACTIVE\s+COMPLETED\s+FAILED\s+PAUSED\s+OLDEST WAITING\s+WAIT P50\/P95\s+PER MIN$/);
    expect(before.out).toMatch(/^cli\.steps\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+no\s/m);

    const paused = await run('queues', ['pause', 'cli.steps']);
    expect(paused).toMatchObject({ code: 0, err: '' });
    expect(paused.out).toMatch(/^cli\.steps paused/);
    const held = await enqueueSteps({ steps: 1, stepMs: 1 });
    await sleep(1_000);
    expect(await state(held.id)).toBe('queued');
    const whilePaused = await run('queues', []);
    expect(whilePaused.out).toMatch(/^cli\.steps\s+[1-9]\d*\s+\d+\s+\d+\s+\d+\s+\d+\s+paused\s+\d/m);

    const resumed = await run('queues', ['resume', 'cli.steps']);
    expect(resumed).toMatchObject({ code: 0, out: 'cli.steps resumed\n' });
    expect((await finished(held.id)).state).toBe('completed');

    const json = JSON.parse((await run('queues', ['--json'])).out);
    expect(json.queues.find((queue: { name: string }) => queue.name === 'cli.steps')).toMatchObject({ paused: false });
  });

  it('says which server it could not reach', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await run('tasks', ['show', 'any-id', '--url', url]);
    expect(result.code).toBe(1);
    expect(result.err).toBe(`workyard tasks show: cannot reach Workyard at ${url} (ECONNREFUSED): is it running? --url or WORKYARD_URL say where it is\n`);
  });

  it('asks for WORKYARD_API_KEY on a 401, missing or wrong', async () => {
    const job = await enqueueSteps({ steps: 1, stepMs: 1 }, { delayMs: 60_000 });
    const missing = await run('tasks', ['cancel', job.id], { WORKYARD_URL: wy.baseUrl });
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`workyard tasks cancel: ${wy.baseUrl} needs the API key (401): set WORKYARD_API_KEY to the server's key\n`);
    const wrong = await run('tasks', ['cancel', job.id], { WORKYARD_URL: wy.baseUrl, WORKYARD_API_KEY: 'not-the-key' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('refused the API key (401): set WORKYARD_API_KEY');
    expect(await state(job.id)).toBe('delayed');
  });

  it('says a task is not found (404), and a bad command line is exit 2 with its usage', async () => {
    const unknown = await run('tasks', ['show', 'no-such-task']);
    expect(unknown).toMatchObject({ code: 1, err: 'workyard tasks show: task no-such-task not found (404 not_found)\n' });
    const missingId = await run('tasks', ['watch']);
    expect(missingId.code).toBe(2);
    expect(missingId.err).toContain('ID is missing\n\nusage: workyard tasks watch ID');
    const badOption = await run('queues', ['--colour']);
    expect(badOption.code).toBe(2);
    expect(badOption.err).toContain("Unknown option '--colour'");
    expect((await run('tasks', ['frobnicate'])).code).toBe(2);
    expect((await run('tasks', [])).code).toBe(2);
    const help = await run('tasks', ['list', '--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toMatch(/^usage: workyard tasks list/);
  });

  it('runs as `workyard tasks show ID` with its exit code', async () => {
    const job = await enqueueSteps({ steps: 1, stepMs: 1 });
    await finished(job.id);
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'tasks', 'show', job.id], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', WORKYARD_URL: wy.baseUrl, WORKYARD_API_KEY: API_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(out).toMatch(/^state:\s+completed$/m);
    expect(code).toBe(0);
  });
});
