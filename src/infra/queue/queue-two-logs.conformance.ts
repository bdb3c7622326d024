// Conformance cases of job logs (issue #18) every driver passes: ctx.log keeps lines with the job,
// in order and within the bound (the last 100 lines, 64 KiB), getLogs reads them back after the
// job finished and from another queue instance, and every subscriber hears each line as a `log`
// event, in the process that runs the job and in another.
import { describe, expect, it, vi } from 'vitest';
import { type JobEvent, type JobLogLine, MAX_LOG_BYTES, MAX_LOG_LINES } from './contract.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

const poll = { timeout: 10_000, interval: 25 };
const messagesOf = (lines: JobLogLine[] | null) => lines?.map((line) => line.message);
const logEvents = (events: JobEvent[]) => events.flatMap((e) => (e.type === 'log' ? [e] : []));

export function describeLogsConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance, job logs: ${label}`, () => {
    const { open, harness, uniqueName } = useQueueInstances(setup);

    it('keeps the lines of every run in order, after the job finished and for another queue instance; an unknown job has none', async () => {
      // closed by the test, then the store is opened again
      const queue = await harness().open();
      const name = uniqueName('logs');
      queue.process(name, async (job) => {
        await job.log(`run ${job.attempt} started`);
        if (job.attempt === 1) throw new Error('first run fails');
        await job.log('page fetched');
        await job.log('3 images found');
        return 'done';
      });
      const quiet = await queue.enqueue(name, null, { delayMs: 60_000 });
      await queue.startWorkers();
      const before = Date.now();
      const { id } = await queue.enqueue(name, null, { attempts: 2, backoffMs: 10 });
      expect((await queue.waitForFinish(id, 10_000)).state).toBe('completed');
      const lines = await queue.getLogs(id);
      expect(messagesOf(lines)).toEqual(['run 1 started', 'run 2 started', 'page fetched', '3 images found']);
      const times = lines!.map((line) => line.at);
      expect(times[0]).toBeGreaterThanOrEqual(before - 5);
      expect(times).toEqual([...times].sort((a, b) => a - b));

      await queue.close(500);
      const reopened = await open();
      expect(await reopened.getLogs(id)).toEqual(lines);
      expect(await reopened.getLogs(quiet.id)).toEqual([]);
      expect(await reopened.getLogs('no-such-job')).toBeNull();
    });

    it('keeps the lines of a job cancelled while it ran, and drops a line logged after the cancel', async () => {
      const queue = await open();
      const name = uniqueName('logs-cancelled');
      let logged!: () => void;
      const started = new Promise<void>((resolve) => (logged = resolve));
      let lateLine!: Promise<void>;
      queue.process(name, async (job) => {
        await job.log('before the cancel');
        logged();
        // ignores its signal on purpose: the line it logs once cancelled must not be kept
        await new Promise((resolve) => setTimeout(resolve, 300));
        lateLine = job.log('after the cancel').catch(() => {});
        await lateLine;
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null);
      await started;
      expect(await queue.cancel(id)).toBe('cancelling');
      expect((await queue.waitForFinish(id, 10_000)).state).toBe('cancelled');
      await vi.waitUntil(() => lateLine !== undefined, poll);
      await lateLine;
      expect(messagesOf(await queue.getLogs(id))).toEqual(['before the cancel']);
    });

    it(`keeps the last ${MAX_LOG_LINES} lines`, async () => {
      const queue = await open();
      const name = uniqueName('logs-lines');
      queue.process(name, async (job) => {
        for (let i = 0; i < MAX_LOG_LINES + 30; i++) await job.log(`line ${i}`);
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, null);
      await queue.waitForFinish(id, 20_000);
      const expected = Array.from({ length: MAX_LOG_LINES }, (_, i) => `line ${i + 30}`);
      expect(messagesOf(await queue.getLogs(id))).toEqual(expected);
    });

    it('keeps at most 64 KiB of messages, counted in bytes, and cuts a longer line to the bound', async () => {
      const queue = await open();
      const name = uniqueName('logs-bytes');
      // 1,000 bytes (500 characters) each: 65 fit in 65,536 bytes, all 100 would fit if characters were counted.
      const line = (i: number) => `${String(i).padStart(4, '0')}${'é'.repeat(498)}`;
      queue.process<{ huge: boolean }, void>(name, async (job) => {
        if (job.data.huge) {
          await job.log('before');
          await job.log('x'.repeat(MAX_LOG_BYTES + 10_000));
          return;
        }
        for (let i = 0; i < 100; i++) await job.log(line(i));
      });
      await queue.startWorkers();
      const { id } = await queue.enqueue(name, { huge: false });
      await queue.waitForFinish(id, 20_000);
      const kept = messagesOf(await queue.getLogs(id))!;
      expect(Buffer.byteLength(line(0))).toBe(1_000);
      expect(kept).toEqual(Array.from({ length: 65 }, (_, i) => line(i + 35)));

      const huge = await queue.enqueue(name, { huge: true });
      await queue.waitForFinish(huge.id, 20_000);
      const [cut, ...rest] = messagesOf(await queue.getLogs(huge.id))!;
      expect(rest).toEqual([]);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_LOG_BYTES);
      expect(Buffer.byteLength(cut)).toBeGreaterThan(MAX_LOG_BYTES - 10);
      expect(cut.endsWith('…')).toBe(true);
    });

    it('sends each line to subscribers as a log event, in the process that runs the job and in another', async () => {
      const worker = await open();
      const watcher = await open();
      const name = uniqueName('logs-events');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      // A line too long to travel inside a PostgreSQL notification is read by the watchers instead.
      const long = 'long '.repeat(2_000);
      worker.process(name, async (job) => {
        await gate;
        await job.log('one');
        await job.log(long);
        await job.log('three');
        return 'ok';
      });
      await worker.startWorkers();
      const { id } = await worker.enqueue(name, null);
      const here: JobEvent[] = [];
      const there: JobEvent[] = [];
      const stopHere = worker.subscribe(id, (event) => here.push(event));
      const stopThere = watcher.subscribe(id, (event) => there.push(event));
      await vi.waitUntil(async () => (await worker.getJob(id))?.state === 'active', poll);
      // the subscriptions are in place (BullMQ: its event readers; SQL: the position of the log)
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = Date.now();
      release();
      await worker.waitForFinish(id, 10_000);
      const expected = ['one', long, 'three'];
      for (const events of [here, there]) {
        await vi.waitUntil(() => logEvents(events).length === 3 && events.some((e) => e.type === 'completed'), poll);
        expect(logEvents(events).map((e) => e.line.message)).toEqual(expected);
        expect(logEvents(events)[0]).toMatchObject({ type: 'log', jobId: id, name, line: { message: 'one' } });
        expect(logEvents(events)[0].line.at).toBeGreaterThanOrEqual(before - 5);
      }
      // In the process that ran it, a line logged before the job returned is heard before it ends.
      expect(here.findIndex((e) => e.type === 'completed')).toBeGreaterThan(here.findLastIndex((e) => e.type === 'log'));
      stopHere();
      stopThere();
    });
  });
}
