// The queue conformance suite on the SQL driver over PostgreSQL (row locks with SKIP LOCKED).
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { openTestQueue, tempDataDir } from '../../../test/support/queue-harness.js';
import { describeQueueConformance } from './queue.conformance.js';

const ok = await needService('postgres');

describeQueueConformance('sql on postgres', !ok, async () => {
  const database = await createTestDatabase();
  const dataDir = tempDataDir();
  return {
    open: (tuning) => openTestQueue({ dataDir, databaseUrl: database.url, redisPrefix: 'unused', dependencyTimeoutMs: 2_000 }, tuning),
    dispose: () => database.drop(),
  };
});
