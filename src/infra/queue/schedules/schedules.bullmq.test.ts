// The schedule conformance cases on the bullmq queue driver.
import { openTestQueue, queueSetup } from '../../../../test/support/queue-harness.js';
import { describeScheduleConformance } from './schedule.conformance.js';

const setup = await queueSetup('bullmq');

describeScheduleConformance(setup.label, !setup.available, async () => {
  const { config, dispose } = await setup.create();
  return { open: (tuning) => openTestQueue(config, tuning), dispose };
});
