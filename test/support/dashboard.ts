// Helpers for the dashboard's tests: a module with a job that takes a while (so a test can watch
// it go from queued to done) and a reader of server-sent events.
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkyardModule } from '../../src/app-context.js';
import type { JobProgress } from '../../src/infra/queue/contract.js';

export const SLOW_JOB = 'dashboard-test.slow';

/**
 * Registers a job that sleeps for data.ms (default 300 ms, cut short when cancelled), then returns
 * { slept }; it reports data.progress first, fails with data.fail, and with data.failOnce on its
 * first run only (so that a retry of it completes).
 */
export const slowJobModule: WorkyardModule = {
  name: 'dashboard-test',
  create: () => {
    const failedOnce = new Set<string>();
    return {
      jobs(queue) {
        queue.process<{ ms?: number; fail?: boolean; failOnce?: boolean; progress?: JobProgress }, { slept: number }>(SLOW_JOB, async (job) => {
          const ms = job.data.ms ?? 300;
          if (job.data.progress !== undefined) await job.reportProgress(job.data.progress);
          await sleep(ms, undefined, { signal: job.signal });
          if (job.data.fail) throw new Error('failed on purpose');
          if (job.data.failOnce && !failedOnce.has(job.id)) {
            failedOnce.add(job.id);
            throw new Error('failed on purpose, once');
          }
          return { slept: ms };
        }, { concurrency: 4 });
      },
    };
  },
};

export interface SseEvent {
  event: string;
  data: string;
}

/** Reads events from a response body until `until` says stop or the time runs out. */
export async function readEvents(body: ReadableStream<Uint8Array>, until: (event: SseEvent, all: SseEvent[]) => boolean, timeoutMs: number): Promise<SseEvent[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), Math.max(1, deadline - Date.now())))]);
      if (chunk === null || chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === undefined || data === undefined) continue;
        events.push({ event, data });
        if (until(events[events.length - 1], events)) return events;
      }
    }
    return events;
  } finally {
    await reader.cancel().catch(() => {});
  }
}
