// The latest tasks of every kind: a few per job name, so that a flood of one kind (traffic, sums)
// does not hide the others, merged newest first.
import type { JobQueue, JobRecord } from '../../../infra/queue/contract.js';

export const TASKS_PER_KIND = 5;
export const TASKS_SHOWN = 30;

export async function readRecentTasks(queue: JobQueue, names: string[] | null): Promise<JobRecord[]> {
  const lists = names?.length
    ? await Promise.all(names.map((name) => queue.listRecent({ name, limit: TASKS_PER_KIND })))
    : [await queue.listRecent({ limit: TASKS_SHOWN })];
  return lists
    .flat()
    .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    .slice(0, TASKS_SHOWN);
}
