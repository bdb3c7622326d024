import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TRAFFIC_JOB } from './jobs.js';
import { isLoopbackHost, loopbackBaseUrl, loopbackOrigin } from './loopback.js';
import { type StatsBody, countOf, startStatsWorkyard } from '../../../test/support/stats.js';
import { MAX_SEGMENTS, SEGMENT_POOL_SIZE, type TrafficSummary, makeSegmentPool, randomApiPath } from './traffic.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

/** The summary of a traffic run as POST /test/{n}/?wait=true answers it. */
type TaskSummaryBody = TrafficSummary & { task_id: string };

/** The rule every generated path obeys, as a check on a path and the run's segment pool. */
function obeysTheRule(path: string, pool: readonly string[]): boolean {
  const match = /^\/api\/((?:[^/]+\/)+)$/.exec(path);
  if (!match) return false;
  const segments = match[1].split('/').slice(0, -1);
  return segments.length >= 1 && segments.length <= MAX_SEGMENTS && segments.every((s) => pool.includes(s));
}

describe('generated paths', () => {
  it('makes a pool of 3 distinct strings per run', () => {
    for (let i = 0; i < 50; i++) {
      const pool = makeSegmentPool();
      expect(pool).toHaveLength(SEGMENT_POOL_SIZE);
      expect(new Set(pool).size).toBe(SEGMENT_POOL_SIZE);
      for (const s of pool) expect(s).toMatch(/^[a-z0-9]{8}$/);
    }
  });

  it('are /api/ and 1 to 6 segments from the pool, whatever the random numbers', () => {
    const pool = makeSegmentPool();
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 13, maxLength: 13 }), (numbers) => {
        let i = 0;
        const path = randomApiPath(pool, () => numbers[i++ % numbers.length]);
        return obeysTheRule(path, pool);
      }),
    );
  });

  it('cover every length from 1 to 6 segments', () => {
    const pool = makeSegmentPool();
    const lengths = new Set<number>();
    for (let i = 0; i < 2_000; i++) lengths.add(randomApiPath(pool).split('/').length - 3);
    expect([...lengths].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('loopback only', () => {
  it('tells loopback hosts from others', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '[::1]', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['10.0.0.1', '192.168.1.1', '0.0.0.0', '::', 'example.com', 'localhost.example.com', '169.254.169.254', '[::ffff:10.0.0.1]']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses base URLs that are not loopback http(s), naming the field', () => {
    expect(loopbackOrigin('http://127.0.0.1:8080/some/path', 'base_url')).toBe('http://127.0.0.1:8080');
    expect(loopbackOrigin('http://[::1]:9/', 'base_url')).toBe('http://[::1]:9');
    for (const url of ['http://example.com', 'http://10.1.2.3:8080', 'ftp://127.0.0.1/', 'not a url', 'http://0.0.0.0:8080']) {
      expect(() => loopbackOrigin(url, 'base_url'), url).toThrow(expect.objectContaining({ code: 'validation_failed', details: { field: 'base_url' } }));
    }
  });

  it('reaches this server over loopback from the address it listens on', () => {
    expect(loopbackBaseUrl({ address: '0.0.0.0', family: 'IPv4', port: 80 })).toBe('http://127.0.0.1:80');
    expect(loopbackBaseUrl({ address: '::', family: 'IPv6', port: 81 })).toBe('http://127.0.0.1:81');
    expect(loopbackBaseUrl({ address: '127.0.0.1', family: 'IPv4', port: 82 })).toBe('http://127.0.0.1:82');
    expect(loopbackBaseUrl({ address: '::1', family: 'IPv6', port: 83 })).toBe('http://[::1]:83');
    expect(() => loopbackBaseUrl({ address: '10.0.0.5', family: 'IPv4', port: 84 })).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => loopbackBaseUrl(null)).toThrow(expect.objectContaining({ code: 'conflict' }));
  });
});

describe('test traffic runs', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());
  const http = (method: string, path: string) => fetch(wy.baseUrl + path, { method });

  it('sends n real requests whose paths obey the rule, and total_requests grows by n', async () => {
    const n = 1_500;
    expect((await http('DELETE', '/stats/')).status).toBe(204);
    await http('GET', '/api/before/');
    const before = (await (await http('GET', '/stats/')).json()) as StatsBody;
    const res = await http('POST', `/test/${n}/?wait=true`);
    expect(res.status).toBe(200);
    const summary = (await res.json()) as TaskSummaryBody;
    expect(summary).toMatchObject({ task_id: expect.any(String), n, ok: n, failed: 0 });
    expect(summary.duration_ms).toBeGreaterThan(0);
    expect(summary.requests_per_second).toBeGreaterThan(0);
    expect(summary.segments).toHaveLength(3);

    const after = (await (await http('GET', '/stats/?limit=10000')).json()) as StatsBody;
    // n generated requests, plus the POST and this GET; the first GET /stats/ counted itself
    expect(after.total_requests).toBe(before.total_requests + n + 2);
    const generated = after.paths.filter((p) => p.path.startsWith('/api/') && p.path !== '/api/before/');
    expect(generated.reduce((sum, p) => sum + p.count, 0)).toBe(n);
    const strings = new Set<string>();
    for (const { path } of generated) {
      expect(obeysTheRule(path, summary.segments), path).toBe(true);
      for (const segment of path.split('/').slice(2, -1)) strings.add(segment);
    }
    expect(strings.size).toBeLessThanOrEqual(3);
    expect(countOf(after, '/api/before/')).toBe(1);
  });

  it('answers 202 with a task id, and the task shows progress and the summary', async () => {
    const n = 3_000;
    const started = await http('POST', `/test/${n}/`);
    expect(started.status).toBe(202);
    const { task_id } = (await started.json()) as { task_id: string };
    expect(task_id).toEqual(expect.any(String));
    let task: any;
    const deadline = Date.now() + 60_000;
    const progress: unknown[] = [];
    do {
      await new Promise((resolve) => setTimeout(resolve, 50));
      task = await (await http('GET', `/tasks/${task_id}`)).json();
      if (task.status === 'active') progress.push(task.progress);
    } while (!['completed', 'failed'].includes(task.status) && Date.now() < deadline);
    expect(task).toMatchObject({ name: TRAFFIC_JOB, status: 'completed', result: { n, ok: n, failed: 0 }, progress: { n, sent: n, ok: n, failed: 0 } });
    for (const p of progress.filter((p) => typeof p === 'object')) expect(p).toMatchObject({ n, sent: expect.any(Number) });
    const logs = ((await (await http('GET', `/tasks/${task_id}/logs`)).json()) as { logs: { message: string }[] }).logs.map((line) => line.message);
    expect(logs).toEqual([
      expect.stringMatching(new RegExp(`^traffic run started: ${n} requests to http://\\S+, on a thread of its own$`)),
      expect.stringMatching(new RegExp(`^traffic run ended: ${n} ok, 0 failed in \\d+ ms \\([\\d.]+ requests/s\\)$`)),
    ]);
  });

  it('refuses, in the job too, to send traffic anywhere but loopback', async () => {
    const job = await wy.workyard.ctx.queue.enqueue(TRAFFIC_JOB, { n: 5, baseUrl: 'http://192.0.2.1:8080' });
    const finished = await wy.workyard.ctx.queue.waitForFinish(job.id, 10_000);
    expect(finished.state).toBe('failed');
    expect(finished.error).toMatch(/loopback/);
  });

  it('reports requests the server did not answer with 2xx as failed', async () => {
    // a closed port on loopback: every request fails to connect, and the run says so
    const job = await wy.workyard.ctx.queue.enqueue(TRAFFIC_JOB, { n: 20, baseUrl: 'http://127.0.0.1:9' });
    const finished = await wy.workyard.ctx.queue.waitForFinish<unknown, TrafficSummary>(job.id, 20_000);
    expect(finished.state).toBe('completed');
    expect(finished.result).toMatchObject({ n: 20, ok: 0, failed: 20, first_error: expect.stringContaining('GET /api/') });
  });
});
