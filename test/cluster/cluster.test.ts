// The scaled shape proven on one machine: 2 API processes and 2 workers on PostgreSQL, Redis
// and s3rver behind nginx (scripts/cluster), driven through nginx and through each node directly.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, type ClusterProcess, startCluster } from '../../scripts/cluster/cluster.js';
import { deleteRedisPrefix } from '../support/redis-keys.js';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from '../support/services.js';

const ready = (await needService('postgres')) && (await needService('redis'));
const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });

async function call(url: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}) {
  const res = await request(url, { dispatcher: agent, method: (init.method ?? 'GET') as 'GET', body: init.body, headers: init.headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const buffer = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, buffer, json: () => JSON.parse(buffer.toString('utf8')) };
}

/** Runs `count` tasks with at most `width` at a time. */
async function inParallel<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** A worker's count of finished jobs of one name, from its own /metrics. */
async function finishedJobs(worker: ClusterProcess, job: string): Promise<number> {
  const text = (await call(`${worker.url}/metrics`)).buffer.toString();
  const line = text.split('\n').find((l) => l.startsWith('workyard_jobs_finished_total{') && l.includes(`job="${job}"`) && l.includes('outcome="completed"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

const json = { 'content-type': 'application/json' };

describe.skipIf(!ready)('cluster: 2 API nodes and 2 workers behind nginx on PostgreSQL, Redis and S3', () => {
  let cluster: Cluster;
  let s3: S3rverHandle;
  let database: { url: string; drop(): Promise<void> };
  // the suite's keys (some 27,000 a run: queue, counters, visitors) go with it, as its database does
  const redisPrefix = uniqueRedisPrefix('cluster');

  beforeAll(async () => {
    database = await createTestDatabase();
    s3 = await startS3rver();
    cluster = await startCluster({
      databaseUrl: database.url,
      redisUrl,
      redisPrefix,
      s3: { endpoint: s3.endpoint, bucket: 'cluster', ...S3RVER_CREDENTIALS },
      // A killed worker's job runs again after 2 s rather than 30. The suite is about correctness
      // under load on 2 shared cores, not about outage timing (the fault suite's job): a generous
      // dependency deadline keeps a starved event loop from being taken for a dead Redis.
      env: { WORKYARD_QUEUE_LEASE_MS: '2000', WORKYARD_DEPENDENCY_TIMEOUT_MS: '5000', WORKYARD_LOG_LEVEL: 'warn' },
    });
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
    await s3?.stop();
    await database?.drop();
    await deleteRedisPrefix(redisUrl, redisPrefix);
    await agent.close();
  });

  it('reports the scaled shape and its drivers on every node', async () => {
    for (const node of [...cluster.apis, ...cluster.workers]) {
      const body = (await call(`${node.url}/readyz`)).json();
      expect(body).toMatchObject({ status: 'ready', shape: 'scaled', drivers: { database: 'postgres', queue: 'bullmq', blobs: 's3', counters: 'redis' } });
    }
  });

  it('blobs: 2,000 puts, each read back at once through the other API node', async () => {
    const [a, b] = cluster.apis;
    const misses: string[] = [];
    await inParallel(2_000, 32, async (i) => {
      const key = `cluster/${i}-${randomBytes(4).toString('hex')}`;
      const bytes = randomBytes(256 + (i % 512));
      const [writer, reader] = i % 2 ? [a, b] : [b, a];
      const put = await call(`${writer.url}/blobs/${key}`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      expect(put.status).toBe(201);
      const got = await call(`${reader.url}/blobs/${key}`);
      if (got.status !== 200 || !got.buffer.equals(bytes)) misses.push(`${key}: ${got.status}`);
    });
    expect(misses).toEqual([]);
  }, 240_000);

  it('stats: requests spread over both nodes are all counted in one total', async () => {
    const run = randomBytes(4).toString('hex');
    const targets = [cluster.url, ...cluster.apis.map((api) => api.url)];
    const sent = 1_500;
    await inParallel(sent, 32, async (i) => {
      const res = await call(`${targets[i % targets.length]}/api/cluster-${run}/${i % 7}/?n=${i}`);
      expect(res.status).toBe(200);
    });
    // increments are gathered for a few ms before they go out: allow for that, no more
    await expect
      .poll(async () => {
        const stats = (await call(`${cluster.url}/stats/?limit=100`)).json() as { paths: { path: string; count: number }[] };
        return stats.paths.filter((p) => p.path.startsWith(`/api/cluster-${run}/`)).reduce((sum, p) => sum + p.count, 0);
      }, { timeout: 5_000, interval: 200 })
      .toBe(sent);
  }, 120_000);

  it('feedback: 5,000 queued saves are processed by both workers, exactly 5,000 rows', async () => {
    const before = await Promise.all(cluster.workers.map((w) => finishedJobs(w, 'feedback.save')));
    const taskIds = await inParallel(5_000, 48, async (i) => {
      const res = await call(`${cluster.url}/feedback/async`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name: `cluster ${i}`, email: `p${i}@example.com`, message: `message ${i}`, rating: (i % 5) + 1 }),
      });
      expect(res.status).toBe(202);
      return res.json().task_id as string;
    });
    expect(new Set(taskIds).size).toBe(5_000);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await expect
        .poll(async () => Number((await client.query("select count(*) as n from feedback_entries where name like 'cluster %'")).rows[0].n), { timeout: 120_000, interval: 200 })
        .toBe(5_000);
    } finally {
      await client.end();
    }
    const after = await Promise.all(cluster.workers.map((w) => finishedJobs(w, 'feedback.save')));
    const byWorker = after.map((n, i) => n - before[i]);
    expect(byWorker.every((n) => n > 0)).toBe(true);
    expect(byWorker.reduce((s, n) => s + n, 0)).toBe(5_000);
  }, 300_000);

  it('compute: /sync/sum keeps answering, correctly, while a worker is killed', async () => {
    const count = 400;
    let answered = 0;
    const killed = (async () => {
      while (answered < 100) await new Promise((r) => setTimeout(r, 20));
      await cluster.kill(cluster.workers[0]);
    })();
    try {
      const results = await inParallel(count, 24, async (i) => {
        const numbers = [i, 0.5, -1, i * 2];
        const res = await call(`${cluster.url}/sync/sum`, { method: 'POST', headers: json, body: JSON.stringify({ numbers, delay_ms: 30 }) });
        answered++;
        return { status: res.status, result: res.status === 200 ? res.json().result : res.buffer.toString(), expected: i * 3 - 0.5 };
      });
      await killed;
      expect(results.filter((r) => r.status !== 200 || r.result !== r.expected)).toEqual([]);
    } finally {
      answered = Infinity;
      await killed;
      cluster.workers[0] = await cluster.restart(cluster.workers[0]);
    }
  }, 300_000);

  it('a worker killed mid-job: its job completes on the other worker', async () => {
    const [first, second] = cluster.workers;
    // Only the first worker may take the job: the second is paused (SIGSTOP) until the first is dead.
    process.kill(second.child.pid!, 'SIGSTOP');
    try {
      const posted = await call(`${cluster.url}/async/post_task`, { method: 'POST', headers: json, body: JSON.stringify({ numbers: [1, 2, 3], delay_ms: 4_000 }) });
      expect(posted.status).toBe(202);
      const id = posted.json().session_id as string;
      await expect.poll(async () => (await call(`${cluster.url}/async/get_task_result/${id}`)).json().status, { timeout: 10_000, interval: 200 }).toBe('running');
      await cluster.kill(first);
      process.kill(second.child.pid!, 'SIGCONT');
      await expect.poll(async () => (await call(`${cluster.url}/async/get_task_result/${id}`)).json(), { timeout: 30_000, interval: 200 }).toMatchObject({ status: 'done', result: 6 });
      expect(await finishedJobs(second, 'compute.sum')).toBeGreaterThan(0);
    } finally {
      process.kill(second.child.pid!, 'SIGCONT');
      cluster.workers[0] = await cluster.restart(first);
    }
  }, 300_000);
});
