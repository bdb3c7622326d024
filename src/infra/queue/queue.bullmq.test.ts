// The queue conformance suite on the BullMQ driver (Redis), each run under its own key prefix.
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { describeQueueConformance } from './queue.conformance.js';

const setup = await queueSetup('bullmq');

describeQueueConformance(setup.label, !setup.available, async () => {
  const { config, dispose } = await setup.create();
  return { open: (tuning) => openTestQueue(config, tuning), dispose };
});
