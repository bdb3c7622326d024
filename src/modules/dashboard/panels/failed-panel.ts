// The latest failed tasks of every kind, with their errors: what an operator retries first.
import type { JobQueue, JobRecord } from '../../../infra/queue/contract.js';

export const FAILED_SHOWN = 10;

export async function readFailedTasks(queue: JobQueue): Promise<JobRecord[]> {
  return (await queue.listJobs({ state: 'failed', limit: FAILED_SHOWN })).jobs;
}
