// A graceful shutdown (what SIGTERM runs) of a whole Workyard whose engine does not answer returns
// within WORKYARD_SHUTDOWN_TIMEOUT_MS plus two dependency deadlines (the steps after the grace
// period), instead of waiting for the engine: PostgreSQL behind a partition used to hold it 30 s
// (counters' last flush and the pool's end), Redis stopped held it until Redis came back.
import { afterAll, describe, expect, it } from 'vitest';
import { proxiedTestDatabase } from '../../test/support/fault-proxy.js';
import { type PrivateRedis, startPrivateRedis } from '../../test/support/redis-server.js';
import { needService } from '../../test/support/services.js';
import { startTestWorkyard } from '../../test/support/workyard.js';

const postgres = await needService('postgres');
const redis = await needService('redis');

const SHUTDOWN_MS = 1_500;
const DEPENDENCY_MS = 800;
/** timers, dropped sockets and a machine busy with other suites */
const MARGIN_MS = 1_000;
const BOUND_MS = SHUTDOWN_MS + 2 * DEPENDENCY_MS + MARGIN_MS;
const env = { WORKYARD_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS), WORKYARD_DEPENDENCY_TIMEOUT_MS: String(DEPENDENCY_MS) };

async function sum(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/sync/sum`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [1, 2] }) });
  expect(response.status).toBe(200);
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

describe('shutdown with an engine that does not answer', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it.skipIf(!postgres)('PostgreSQL behind a partition (records, SQL queue, counters in it)', async () => {
    const database = await proxiedTestDatabase();
    cleanups.push(() => database.close());
    const wy = await startTestWorkyard({ ...env, WORKYARD_DATABASE_URL: database.url });
    await sum(wy.baseUrl);

    database.proxy.blackhole();
    expect(await timed(() => wy.close())).toBeLessThan(BOUND_MS);
  });

  it.skipIf(!redis)('Redis stopped (BullMQ queue and counters in it)', async () => {
    const server: PrivateRedis = await startPrivateRedis();
    cleanups.push(() => server.stop());
    const wy = await startTestWorkyard({ ...env, WORKYARD_REDIS_URL: server.url });
    await sum(wy.baseUrl);

    await server.takeDown();
    expect(await timed(() => wy.close())).toBeLessThan(BOUND_MS);
  });
});
