// /metrics for jobs: how long runs waited once due, per job name, and failed runs by error code
// (timeout, permanent, an API error code, the error's name), with the names bounded.
import { describe, expect, it } from 'vitest';
import type { WorkyardModule } from '../app-context.js';
import { AppError, TimeoutError } from '../errors.js';
import { JobCancelledError, PermanentJobError } from '../infra/queue/contract.js';
import { JobTimeoutError } from '../infra/queue/worker-core.js';
import { startTestWorkyard } from '../../test/support/workyard.js';
import { suiteWorkyard } from '../../test/support/suite-workyard.js';
import { FailureCodes, MAX_NAMED_FAILURE_CODES } from './job-failure-codes.js';

// 'ignores': a handler that never looks at its signal and returns when it is done, timeout or not
type Failure = 'none' | 'ignores' | 'permanent' | 'not_found' | 'type' | 'timeout' | { name: string };

const metricsModule: WorkyardModule = {
  name: 'metered',
  create: () => ({
    jobs(queue) {
      queue.process<{ fail: Failure; ms?: number }, string>(
        'test.metered',
        async (job) => {
          const { fail } = job.data;
          if (job.data.ms) await new Promise((resolve) => setTimeout(resolve, job.data.ms));
          if (fail === 'permanent') throw new PermanentJobError('gave up');
          if (fail === 'not_found') throw new AppError('not_found', 'page not found');
          if (fail === 'type') throw new TypeError('x is not a function');
          if (fail === 'timeout') {
            // heeds its signal: ends with the signal's reason once the run passes its timeout
            await new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason)));
          }
          if (typeof fail === 'object') throw Object.assign(new Error('custom'), { name: fail.name });
          return 'ok';
        },
        { concurrency: 1 },
      );
    },
  }),
};

const sampleOf = (body: string, metric: string, labels: Record<string, string>): number | null => {
  const line = body.split('\n').find((l) => l.startsWith(`${metric}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('job metrics on /metrics', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({}, { modules: [metricsModule] }));
  const run = async (fail: Failure, options: { timeoutMs?: number; ms?: number } = {}) => {
    const queue = wy.workyard.ctx.queue;
    const job = await queue.enqueue('test.metered', { fail, ms: options.ms }, options.timeoutMs ? { timeoutMs: options.timeoutMs } : {});
    return job.id;
  };
  const metrics = async () => (await wy.workyard.app.inject({ url: '/metrics' })).body;

  it('counts failed runs by code: permanent, an API error code, timeout, the error name', async () => {
    const ids = [await run('permanent'), await run('not_found'), await run('type'), await run('type'), await run('timeout', { timeoutMs: 100 }), await run('none')];
    for (const id of ids) await wy.workyard.ctx.queue.waitForFinish(id, 10_000);
    const body = await metrics();
    const failures = (code: string) => sampleOf(body, 'workyard_job_failures_total', { job: 'test.metered', code });
    expect(failures('permanent')).toBe(1);
    expect(failures('not_found')).toBe(1);
    expect(failures('typeerror')).toBe(2);
    expect(failures('timeout')).toBe(1);
    expect(body).not.toMatch(/workyard_job_failures_total\{[^}]*code="(error|timeouterror)"/);
  });

  it('counts a run its timeout ended as a timeout, though its handler ignored the signal and returned later', async () => {
    const sample = async (metric: string, labels: Record<string, string>) => sampleOf(await metrics(), metric, { job: 'test.metered', ...labels }) ?? 0;
    const completedBefore = await sample('workyard_jobs_finished_total', { outcome: 'completed' });
    const timeoutsBefore = await sample('workyard_job_failures_total', { code: 'timeout' });
    const id = await run('ignores', { timeoutMs: 100, ms: 600 });
    expect((await wy.workyard.ctx.queue.waitForFinish(id, 10_000))?.state).toBe('failed');
    // the handler returns 'ok' half a second after the queue failed its run: that is not a completion
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await sample('workyard_jobs_finished_total', { outcome: 'completed' })).toBe(completedBefore);
    expect(await sample('workyard_job_failures_total', { code: 'timeout' })).toBe(timeoutsBefore + 1);
  });

  it('observes how long each run waited once due, per job name', async () => {
    // One worker slot: the second job waits for the first, which takes 400 ms.
    const first = await run('none', { ms: 400 });
    const second = await run('none');
    for (const id of [first, second]) await wy.workyard.ctx.queue.waitForFinish(id, 10_000);
    const body = await metrics();
    const count = sampleOf(body, 'workyard_job_wait_seconds_count', { job: 'test.metered' })!;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(sampleOf(body, 'workyard_job_wait_seconds_sum', { job: 'test.metered' })).toBeGreaterThanOrEqual(0.3);
    // the second run's wait is past 0.1 s, so not every run is in the lower buckets
    expect(sampleOf(body, 'workyard_job_wait_seconds_bucket', { job: 'test.metered', le: '0.1' })).toBeLessThan(count);
  });
});

describe('failure codes', () => {
  it('names the timeout, a cancel, a permanent failure, an API error by its code, and other errors by name', () => {
    const codes = new FailureCodes();
    const aborted = (reason: Error) => AbortSignal.abort(reason);
    expect(codes.of(new JobTimeoutError(50))).toBe('timeout');
    expect(codes.of(new Error('aborted'), aborted(new TimeoutError('past its timeout')))).toBe('timeout');
    expect(codes.of(new TimeoutError('a wait inside the handler'))).toBe('timeouterror');
    expect(codes.of(new Error('stopped'), aborted(new JobCancelledError('j1')))).toBe('cancelled');
    expect(codes.of(new PermanentJobError('no'))).toBe('permanent');
    expect(codes.of(new AppError('dependency_unavailable', 'redis is away'))).toBe('dependency_unavailable');
    expect(codes.of(new RangeError('bad'))).toBe('rangeerror');
    expect(codes.of(Object.assign(new Error('from a thread'), { name: 'AppError', code: 'not_found' }))).toBe('not_found');
    expect(codes.of(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('error');
    expect(codes.of('a string')).toBe('unknown');
  });

  it(`keeps ${MAX_NAMED_FAILURE_CODES} error names at most; later names count as other`, () => {
    const codes = new FailureCodes();
    const named = (name: string) => Object.assign(new Error('x'), { name });
    for (let i = 0; i < MAX_NAMED_FAILURE_CODES; i++) expect(codes.of(named(`Kind${i}Error`))).toBe(`kind${i}error`);
    expect(codes.of(named('OneMoreError'))).toBe('other');
    expect(codes.of(named('Kind3Error'))).toBe('kind3error');
    expect(codes.of(new PermanentJobError('fixed codes are not counted'))).toBe('permanent');
    expect(codes.of(named('Weird Name!'))).toBe('other');
  });
});
