import http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import type { WorkyardModule } from '../../app-context.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from './index.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

// A module of the test's own: a job that waits until the test lets it finish.
const gates = new Map<string, () => void>();
const gatedModule: WorkyardModule = {
  name: 'gated',
  create: () => ({
    jobs(queue) {
      queue.process<{ value: number }, number>(
        'test.gated',
        async (job) => {
          await job.reportProgress(50);
          await new Promise<void>((resolve) => gates.set(job.id, resolve));
          return job.data.value * 2;
        },
        { concurrency: 4 },
      );
      // logs its first line, waits for the test, then logs the rest
      queue.process<{ lines: string[] }, string>(
        'test.logged',
        async (job) => {
          await job.log(job.data.lines[0]);
          await new Promise<void>((resolve) => gates.set(job.id, resolve));
          for (const line of job.data.lines.slice(1)) await job.log(line);
          return 'logged';
        },
        { concurrency: 4 },
      );
    },
  }),
};

// A job starts, or an event arrives, within milliseconds: look often, give up after 5 s.
const poll = { timeout: 5_000, interval: 20 };

/** Reads a server-sent event stream into a list of {event, data} until it ends. */
function readEvents(url: string): { events: { event: string; data: any }[]; ended: Promise<void> } {
  const events: { event: string; data: any }[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    http.get(url, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  });
  return { events, ended };
}

describe('task API', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({}, { modules: [tasksModule, gatedModule] }));

  it('shows a task by id with every field, from queued to completed', async () => {
    const job = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 21 });
    await vi.waitUntil(() => gates.has(job.id), poll);
    const running = (await wy.workyard.app.inject({ url: `/tasks/${job.id}` })).json();
    expect(running).toMatchObject({ id: job.id, name: 'test.gated', status: 'active', progress: 50, result: null, error: null, attempts: 1, finished_at: null });
    expect(Date.parse(running.created_at)).toBeGreaterThan(0);
    expect(Date.parse(running.started_at)).toBeGreaterThanOrEqual(Date.parse(running.created_at));
    gates.get(job.id)!();
    await wy.workyard.ctx.queue.waitForFinish(job.id, 5_000);
    const done = (await wy.workyard.app.inject({ url: `/tasks/${job.id}` })).json();
    expect(done).toMatchObject({ status: 'completed', result: 42 });
    expect(Date.parse(done.finished_at)).toBeGreaterThanOrEqual(Date.parse(done.started_at));
  });

  it('answers 404 in the standard shape for an unknown id', async () => {
    const res = await wy.workyard.app.inject({ url: '/tasks/no-such-task' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'not_found' });
  });

  it('cancels a queued task (200), a running one (202: it ends cancelled), refuses a finished one (409), knows no unknown one', async () => {
    const delayed = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 1 }, { delayMs: 60_000 });
    const cancelled = await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${delayed.id}` });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id: delayed.id, status: 'cancelled' });

    const running = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 2 }, { attempts: 3 });
    await vi.waitUntil(() => gates.has(running.id), poll);
    const cancelling = await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${running.id}` });
    expect(cancelling.statusCode).toBe(202);
    expect(cancelling.json()).toMatchObject({ id: running.id, status: 'cancelled', attempts: 1 });
    // the handler ignores its signal: when it returns, its result is dropped
    gates.get(running.id)!();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await wy.workyard.app.inject({ url: `/tasks/${running.id}` })).json()).toMatchObject({ status: 'cancelled', result: null, attempts: 1 });

    const done = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 3 });
    await vi.waitUntil(() => gates.has(done.id), poll);
    gates.get(done.id)!();
    await wy.workyard.ctx.queue.waitForFinish(done.id, 5_000);
    const refused = await wy.workyard.app.inject({ method: 'DELETE', url: `/tasks/${done.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('conflict');

    expect((await wy.workyard.app.inject({ method: 'DELETE', url: '/tasks/unknown' })).statusCode).toBe(404);
  });

  it('streams a task’s events until it ends', async () => {
    const job = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 5 });
    await vi.waitUntil(() => gates.has(job.id), poll);
    const stream = readEvents(`${wy.baseUrl}/tasks/${job.id}/events`);
    await expect.poll(() => stream.events.length, poll).toBeGreaterThan(0);
    gates.get(job.id)!();
    await stream.ended;
    expect(stream.events[0]).toMatchObject({ event: 'task', data: { id: job.id, status: 'active' } });
    expect(stream.events.map((e) => e.event)).toContain('completed');
    expect(stream.events.at(-1)).toMatchObject({ event: 'task', data: { status: 'completed', result: 10 } });
  });

  it('shows the lines a task logged, while it runs and once it ended, with RFC 3339 times; 404 for an unknown task', async () => {
    const before = Date.now();
    const job = await wy.workyard.ctx.queue.enqueue('test.logged', { lines: ['page fetched', '3 images found', 'image 2 failed: 404'] });
    await vi.waitUntil(() => gates.has(job.id), poll);
    const running = await wy.workyard.app.inject({ url: `/tasks/${job.id}/logs` });
    expect(running.statusCode).toBe(200);
    expect(running.json()).toEqual({ logs: [{ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), message: 'page fetched' }] });
    expect(Date.parse(running.json().logs[0].at)).toBeGreaterThanOrEqual(before - 5);
    gates.get(job.id)!();
    await wy.workyard.ctx.queue.waitForFinish(job.id, 5_000);
    const done = (await wy.workyard.app.inject({ url: `/tasks/${job.id}/logs` })).json();
    expect(done.logs.map((line: { message: string }) => line.message)).toEqual(['page fetched', '3 images found', 'image 2 failed: 404']);

    const unknown = await wy.workyard.app.inject({ url: '/tasks/no-such-task/logs' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatchObject({ code: 'not_found' });
  });

  it('streams the lines a task logs as log events, and goes on to its end after them', async () => {
    const job = await wy.workyard.ctx.queue.enqueue('test.logged', { lines: ['first', 'second', 'third'] });
    await vi.waitUntil(() => gates.has(job.id), poll);
    const stream = readEvents(`${wy.baseUrl}/tasks/${job.id}/events`);
    await expect.poll(() => stream.events.length, poll).toBeGreaterThan(0);
    gates.get(job.id)!();
    await stream.ended;
    const logs = stream.events.filter((e) => e.event === 'log');
    expect(logs.map((e) => e.data.line.message)).toEqual(['second', 'third']);
    expect(logs[0].data).toEqual({ type: 'log', jobId: job.id, name: 'test.logged', line: { at: expect.any(String), message: 'second' } });
    expect(new Date(logs[0].data.line.at).toISOString()).toBe(logs[0].data.line.at);
    const events = stream.events.map((e) => e.event);
    expect(events.indexOf('completed')).toBeGreaterThan(events.lastIndexOf('log'));
    expect(stream.events.at(-1)).toMatchObject({ event: 'task', data: { status: 'completed', result: 'logged' } });
  });

  it('ends the stream at once for a task that has already ended', async () => {
    const job = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 1 }, { delayMs: 60_000 });
    await wy.workyard.ctx.queue.cancel(job.id);
    const stream = readEvents(`${wy.baseUrl}/tasks/${job.id}/events`);
    await stream.ended;
    expect(stream.events).toEqual([{ event: 'task', data: expect.objectContaining({ status: 'cancelled' }) }]);
  });
});

describe('task API shutdown', () => {
  it('does not wait on an open event stream to close', async () => {
    const wy = await startTestWorkyard({ WORKYARD_SHUTDOWN_TIMEOUT_MS: '100' }, { modules: [tasksModule, gatedModule] });
    const job = await wy.workyard.ctx.queue.enqueue('test.gated', { value: 1 }, { delayMs: 60_000 });
    const stream = readEvents(`${wy.baseUrl}/tasks/${job.id}/events`);
    await expect.poll(() => stream.events.length, poll).toBeGreaterThan(0);
    const started = Date.now();
    await wy.close();
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
