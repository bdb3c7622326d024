// The queue conformance suite on the SQL driver over SQLite (the embedded default).
import { openTestQueue, queueSetup } from '../../../test/support/queue-harness.js';
import { describeQueueConformance } from './queue.conformance.js';

const setup = await queueSetup('sql on sqlite');

describeQueueConformance(setup.label, !setup.available, async () => {
  const { config, dispose } = await setup.create();
  return { open: (tuning) => openTestQueue(config, tuning), dispose };
});
