// The queue conformance suite on the SQL driver over SQLite (the embedded default).
import fs from 'node:fs';
import { openTestQueue, tempDataDir } from '../../../test/support/queue-harness.js';
import { describeQueueConformance } from './queue.conformance.js';

describeQueueConformance('sql on sqlite', false, async () => {
  const dataDir = tempDataDir();
  return {
    open: (tuning) => openTestQueue({ dataDir, redisPrefix: 'unused', dependencyTimeoutMs: 2_000 }, tuning),
    dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
});
