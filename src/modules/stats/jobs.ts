// The job behind POST /test/{n}/: a traffic run in a worker, its progress on the task. And the
// pruning of old time buckets and the folding of closed hours into the ranked windows, on
// schedules of the queue's own.
import type { AppContext } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { loopbackOrigin } from './loopback.js';
import { type TrafficSummary, runTraffic, runTrafficInThread } from './traffic.js';

export const TRAFFIC_JOB = 'stats.traffic';
export const PRUNE_JOB = 'stats.prune';
/** Hourly: minute buckets are kept 48 h, so an hour's delay in deleting them costs 2 % more rows at most. */
export const PRUNE_SCHEDULE = { id: PRUNE_JOB, cron: '7 * * * *' };
export const ROLLUP_JOB = 'stats.rollup';
/** Every ten minutes: an hour is folded into the ranked windows 5 to 15 minutes after it closes (ranked-windows.ts allows an hour's delay). */
export const ROLLUP_SCHEDULE = { id: ROLLUP_JOB, cron: '*/10 * * * *' };
/** A first build of the 30-day window over a million paths takes a minute or two; a roll-up stuck far longer is retried (a build is safe beside another). */
const ROLLUP_TIMEOUT_MS = 30 * 60_000;
/** runs of at least this many requests make them on a thread of their own, off the server's event loop */
export const THREAD_FROM_REQUESTS = 2_000;

export interface TrafficJobData {
  n: number;
  /** the API's own loopback address, taken from the address it listens on */
  baseUrl: string;
}

export function statsJobs(queue: JobQueue, ctx: Pick<AppContext, 'counters' | 'log'>): void {
  queue.process(PRUNE_JOB, async (job) => {
    const deleted = await ctx.counters.prune();
    await job.log(`pruned ${deleted} expired bucket rows`);
    return { deleted };
  }, { concurrency: 1 });
  // Declared by every worker process on start (a schedule is replaced, not doubled): the API
  // processes do no pruning, and a schedule in the queue's store fires once however many workers run.
  queue.schedule(PRUNE_SCHEDULE.id, { cron: PRUNE_SCHEDULE.cron, job: { name: PRUNE_JOB, options: { attempts: 3 } } }).catch((error: unknown) => {
    ctx.log.warn({ err: error }, 'stats: the bucket pruning schedule could not be saved; it is tried again on the next start');
  });

  queue.process(ROLLUP_JOB, async (job) => {
    const folded = await ctx.counters.rollUp();
    await job.log(`folded ${folded} hours into the ranked windows`);
    return { folded };
  }, { concurrency: 1 });
  queue.schedule(ROLLUP_SCHEDULE.id, { cron: ROLLUP_SCHEDULE.cron, job: { name: ROLLUP_JOB, options: { attempts: 3, timeoutMs: ROLLUP_TIMEOUT_MS } } }).catch((error: unknown) => {
    ctx.log.warn({ err: error }, 'stats: the roll-up schedule could not be saved; it is tried again on the next start');
  });

  queue.process<TrafficJobData, TrafficSummary>(
    TRAFFIC_JOB,
    async (job) => {
      // Checked again here: a job is data, and anyone able to enqueue could name another host.
      const baseUrl = loopbackOrigin(job.data.baseUrl, 'baseUrl');
      const options = { n: job.data.n, baseUrl, signal: job.signal, onProgress: (progress: object) => job.reportProgress({ ...progress }) };
      // A thread costs a second or so to start; it pays off only for runs longer than that.
      const thread = job.data.n >= THREAD_FROM_REQUESTS;
      await job.log(`traffic run started: ${job.data.n} requests to ${baseUrl}${thread ? ', on a thread of its own' : ''}`);
      const summary = await (thread ? runTrafficInThread(options) : runTraffic(options));
      await job.log(
        `traffic run ended: ${summary.ok} ok, ${summary.failed} failed in ${summary.duration_ms} ms (${summary.requests_per_second} requests/s)` +
          (summary.first_error ? `; first failure: ${summary.first_error}` : ''),
      );
      return summary;
    },
    // One run at a time per worker: two runs would double the load the server has to bear.
    { concurrency: 1 },
  );
}
