// counts() and listRecent() for the BullMQ driver: both walk the job names ever enqueued (a small
// set) and ask each BullMQ queue, plus the cancelled jobs that BullMQ no longer holds.
import { Job, type JobType, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_STATES, type JobCounts, type JobRecord, type JobState } from './contract.js';
import type { WorkyardRedisKeys } from './bullmq-keys.js';
import { dueTimeOfDelayedScore, jobToRecord } from './bullmq-records.js';
import { BullGroupGate, groupKeysOf } from './bullmq-groups.js';

/** due jobs waiting for a worker: BullMQ's wait list holds jobs without a priority (enqueued before priorities) */
const QUEUED_TYPES: JobType[] = ['waiting', 'prioritized', 'waiting-children'];
const LISTED: [JobType, JobState][] = [
  ...QUEUED_TYPES.map((type): [JobType, JobState] => [type, 'queued']),
  ['delayed', 'delayed'],
  ['active', 'active'],
  ['completed', 'completed'],
  ['failed', 'failed'],
];

export async function countsOf(redis: Redis, keys: WorkyardRedisKeys, queueFor: (name: string) => Queue, retentionMs: number): Promise<JobCounts> {
  const names = await redis.smembers(keys.names);
  const now = Date.now();
  const counts: JobCounts = {};
  await Promise.all(
    names.map(async (name) => {
      const [byType, cancelled, parked] = await Promise.all([
        queueFor(name).getJobCounts(...QUEUED_TYPES, 'delayed', 'active', 'completed', 'failed'),
        redis.zcount(keys.cancelledByName(name), now - retentionMs, '+inf'),
        // jobs the group gate holds back are queued, though BullMQ does not see them
        redis.get(groupKeysOf(keys.prefix, name).parkedCount),
      ]);
      const row = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      for (const type of QUEUED_TYPES) row.queued += byType[type] ?? 0;
      row.queued += Number(parked ?? 0);
      row.delayed = byType.delayed ?? 0;
      row.active = byType.active ?? 0;
      row.completed = byType.completed ?? 0;
      row.failed = byType.failed ?? 0;
      row.cancelled = cancelled;
      counts[name] = row;
    }),
  );
  return counts;
}

/** The newest `limit` jobs by creation time: up to `limit` from each state of each name, merged. */
export async function recentOf(
  redis: Redis,
  keys: WorkyardRedisKeys,
  queueFor: (name: string) => Queue,
  limit: number,
  name: string | undefined,
  fetchCancelled: (id: string) => Promise<JobRecord | null>,
): Promise<JobRecord[]> {
  const names = name ? [name] : await redis.smembers(keys.names);
  const records: JobRecord[] = [];
  await Promise.all(
    names.flatMap((n) => [
      ...LISTED.map(async ([type, state]) => {
        const queue = queueFor(n);
        const jobs: Job[] = (await queue.getJobs([type], 0, limit - 1, false)).filter(Boolean);
        // A delayed job's due time is its score in the delayed set (a retry's backoff included).
        const scores = state === 'delayed' && jobs.length ? await redis.zmscore(queue.keys.delayed, ...jobs.map((job) => String(job.id))) : [];
        jobs.forEach((job, i) => records.push(jobToRecord(job, state, scores[i] != null ? dueTimeOfDelayedScore(scores[i]!) : null)));
      }),
      (async () => {
        // jobs the group gate holds back are queued, though in no list of BullMQ's
        const jobs = await Promise.all((await BullGroupGate.parkedIds(redis, keys.prefix, n, limit)).map((id) => Job.fromId(queueFor(n), id)));
        for (const job of jobs) if (job) records.push(jobToRecord(job, 'queued'));
      })(),
      (async () => {
        const ids = await redis.zrevrange(keys.cancelledByName(n), 0, limit - 1);
        for (const record of await Promise.all(ids.map(fetchCancelled))) if (record) records.push(record);
      })(),
    ]),
  );
  const seen = new Set<string>();
  return records
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
    .filter((r) => !seen.has(r.id) && seen.add(r.id))
    .slice(0, limit);
}
