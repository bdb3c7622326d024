// The queue conformance suite on the SQL driver over PostgreSQL (row locks with SKIP LOCKED).
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { type QueueHarness, describeQueueConformance } from './queue.conformance.js';
import { describeQueueOneConformance } from './queue-one.conformance.js';
import { describeGroupConformance } from './queue-groups.conformance.js';
import { describeLogsConformance } from './queue-two-logs.conformance.js';
import { describeJobsConformance } from './queue-two-jobs.conformance.js';
import { describeControlConformance } from './queue-two-control.conformance.js';
import { describeJobTraceConformance } from './job-trace.conformance.js';
import { describeFinishHookConformance } from './queue-finish-hook.conformance.js';
import { describeRunObserverConformance } from './queue-run-observer.conformance.js';

const setup = await queueSetup('sql on postgres');

const harness: () => Promise<QueueHarness> = async () => {
  const { config, dispose } = await setup.create();
  return { open: (tuning) => openTestQueue(config, tuning), dispose };
};

describeQueueConformance(setup.label, !setup.available, harness);

describeQueueOneConformance(setup.label, !setup.available, harness);

describeGroupConformance(setup.label, !setup.available, harness);

describeLogsConformance(setup.label, !setup.available, harness);
describeJobsConformance(setup.label, !setup.available, harness);
describeControlConformance(setup.label, !setup.available, harness);
describeJobTraceConformance(setup.label, !setup.available, harness);
describeFinishHookConformance(setup.label, !setup.available, harness);
describeRunObserverConformance(setup.label, !setup.available, harness);
