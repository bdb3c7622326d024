// What the stats benchmarks share: a Workyard of the tasks and stats modules that runs no worker,
// and the removal of a run's Redis keys.
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { statsModule } from '../../src/modules/stats/index.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';

/**
 * No worker: the stats.rollup schedule would rank the windows on its own, from a half-filled store;
 * the benchmarks run the jobs' work themselves once the data is in. The store may take seconds to
 * answer a large range: that is measured, not a 503. The data directory goes when it closes.
 */
export async function startStatsWorkyard(env: Record<string, string> = {}): Promise<TestWorkyard> {
  const wy = await startTestWorkyard({ WORKYARD_LOG_LEVEL: 'silent', WORKYARD_DEPENDENCY_TIMEOUT_MS: '60000', ...env }, { modules: [tasksModule, statsModule], worker: false });
  return {
    ...wy,
    async close() {
      await wy.close();
      fs.rmSync(wy.dataDir, { recursive: true, force: true });
    },
  };
}

/** Unlinks every key of the run's prefix, a SCAN page at a time. */
export async function unlinkPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    if (keys.length) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
