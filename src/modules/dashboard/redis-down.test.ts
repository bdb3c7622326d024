import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needService } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';

// Needs redis-server installed, not the shared Redis: this test stops a Redis of its own.
const ok = await needService('redis');

describe.skipIf(!ok)('GET /dashboard when Redis goes away (BullMQ queue, Redis counters)', () => {
  let redis: OwnRedis;
  let revived: OwnRedis | undefined;
  let wy: TestWorkyard;
  beforeAll(async () => {
    redis = await startOwnRedis(await freePort());
    wy = await startTestWorkyard({ WORKYARD_REDIS_URL: redis.url, WORKYARD_DEPENDENCY_TIMEOUT_MS: '800' });
  });
  afterAll(async () => {
    // The queue driver's close waits for Redis: bring one back on the same port so it can finish.
    if (redis) revived = await startOwnRedis(redis.port);
    await wy?.close();
    revived?.stop();
    redis?.stop();
  });

  it('answers 200 fast, each Redis panel saying redis is unavailable, the others still shown', async () => {
    // Up first (on a busy machine the first connection may take longer than the deadline).
    const summary = async () => (await wy.workyard.app.inject({ url: '/dashboard/summary' })).json();
    await expect.poll(async () => { const s = await summary(); return s.queues.available && s.stats.available; }, { timeout: 10_000, interval: 1_100 }).toBe(true);

    redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the one-second cache
    const started = performance.now();
    const page = await wy.workyard.app.inject({ url: '/dashboard' });
    // Two deadlines at most (counts, then tasks), whatever the machine's load adds.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/data-panel="queues"><p class="unavailable"><strong>Not available<\/strong> — [^<]*redis/);
    expect(page.body).toMatch(/data-panel="stats"><p class="unavailable"><strong>Not available<\/strong> — [^<]*redis/);
    // Blobs live on disk here: their panel does not depend on Redis.
    expect(page.body).toMatch(/data-panel="blobs"><div class="figures">/);
  });
});

interface OwnRedis {
  port: number;
  url: string;
  stop(): void;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server in a temporary directory, answering on the port once this resolves. */
async function startOwnRedis(port: number): Promise<OwnRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-dashboard-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused until the server is up: each refusal is an expected 'error' event.
  client.on('error', () => {});
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    try {
      await client.connect();
      up = (await client.ping()) === 'PONG';
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.disconnect();
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${port}`);
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop: () => void child.kill('SIGKILL') };
}
