// A worker process for the kill test: builds the queue from the environment (WORKYARD_* as in
// production, plus QUEUE_CHILD_JOB and QUEUE_CHILD_LEASE_MS), runs a handler that never ends,
// and says on stdout when it is ready and when it took a job, so the test can kill it mid-job.
import { loadConfig } from '../../src/config.js';
import { openTestQueue } from './queue-harness.js';

const config = loadConfig(process.env);
const name = process.env.QUEUE_CHILD_JOB ?? 'kill-test';
const leaseMs = Number(process.env.QUEUE_CHILD_LEASE_MS ?? 1_000);

const log = { warn: (obj: object, msg: string) => process.stderr.write(`${msg} ${(obj as { err?: Error }).err?.message ?? ''}\n`) };
const queue = await openTestQueue(config, { leaseMs, stalledCheckMs: Math.floor(leaseMs / 2) }, log);
queue.process(name, async (job) => {
  process.stdout.write(`started ${job.id} ${job.attempt}\n`);
  // Slow work: the test kills this process long before it ends.
  await new Promise((resolve) => setTimeout(resolve, 120_000));
  return 'finished by the child';
});
await queue.startWorkers();
process.stdout.write('ready\n');
