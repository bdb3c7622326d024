// A traffic run cancelled while it runs (DELETE /tasks/:id): the task ends cancelled within a
// second and its requests stop (the counts stop growing). Runs of 2,000 requests or more, the
// ones long enough to cancel, make them on a thread; a run on the event loop stops on its signal too.
import { describe, expect, it, vi } from 'vitest';
import { readStats, startStatsWorkyard } from '../../../test/support/stats.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { TRAFFIC_JOB } from './jobs.js';
import { runTraffic } from './traffic.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('cancelling a running traffic run', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());
  const http = (method: string, path: string) => fetch(wy.baseUrl + path, { method });

  it('ends cancelled within a second and sends no more requests', async () => {
    const n = 1_000_000;
    const res = await http('POST', `/test/${n}/`);
    expect(res.status).toBe(202);
    const { task_id: id } = (await res.json()) as { task_id: string };
    // running, and sending
    await vi.waitUntil(async () => {
      const job = await wy.workyard.ctx.queue.getJob<unknown, unknown>(id);
      return job?.state === 'active' && (await readStats(wy, 'limit=1')).total_requests > 50;
    }, { timeout: 20_000, interval: 20 });
    const cancelledAt = Date.now();
    const cancelled = await http('DELETE', `/tasks/${id}`);
    expect(cancelled.status).toBe(202);
    const done = await wy.workyard.ctx.queue.waitForFinish(id, 5_000);
    expect(done).toMatchObject({ name: TRAFFIC_JOB, state: 'cancelled' });
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    // what was in flight lands within the second; after it the count stands still
    await sleep(1_000);
    const settled = (await readStats(wy, 'limit=1')).total_requests;
    await sleep(700);
    // the two reads of /stats/ count themselves
    expect((await readStats(wy, 'limit=1')).total_requests).toBeLessThanOrEqual(settled + 2);
    expect(((await (await http('GET', `/tasks/${id}`)).json()) as { status: string }).status).toBe('cancelled');
  });

  it('a run on the event loop stops as soon as its signal aborts', async () => {
    const abort = new AbortController();
    const run = runTraffic({ n: 1_000_000, baseUrl: wy.baseUrl, signal: abort.signal });
    await vi.waitUntil(async () => (await readStats(wy, 'limit=1')).total_requests > 50, { timeout: 20_000, interval: 20 });
    const abortedAt = Date.now();
    abort.abort();
    await expect(run).rejects.toThrow(/interrupted/);
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
  });
});
