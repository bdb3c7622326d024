// The job behind POST /test/{n}/: a traffic run in a worker, its progress on the task.
import type { JobQueue } from '../../infra/queue/contract.js';
import { loopbackOrigin } from './loopback.js';
import { type TrafficSummary, runTraffic, runTrafficInThread } from './traffic.js';

export const TRAFFIC_JOB = 'stats.traffic';
/** runs of at least this many requests make them on a thread of their own, off the server's event loop */
export const THREAD_FROM_REQUESTS = 2_000;

export interface TrafficJobData {
  n: number;
  /** the API's own loopback address, taken from the address it listens on */
  baseUrl: string;
}

export function statsJobs(queue: JobQueue): void {
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
