// Prometheus metrics: HTTP durations by route, queue depth by job name and state, job outcomes,
// waits and failures by code.
// Each app has its own registry, so that several apps in one test process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { App } from '../app-context.js';
import { withDeadline } from '../infra/deadline.js';
import type { JobQueue } from '../infra/queue/contract.js';
import type { RequestPressure } from '../infra/request-pressure.js';
import { FailureCodes } from './job-failure-codes.js';

export function createMetrics(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function instrumentHttp(app: App, registry: Registry): void {
  const durations = new Histogram({
    name: 'workyard_http_request_duration_seconds',
    help: 'HTTP request durations by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // One child per (route, method, status), made on first use: observing through it skips
  // prom-client's per-call label checks and hashing. A named callback hook, not an async one:
  // it runs on every request.
  const children = new Map<string, Histogram.Internal<'route' | 'method' | 'status'>>();
  function observeDuration(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    // The route pattern, not the URL: millions of distinct paths must not become millions of series.
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${reply.statusCode} ${request.method} ${route}`;
    let child = children.get(key);
    if (!child) {
      child = durations.labels({ route, method: request.method, status: String(reply.statusCode) });
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  }
  app.addHook('onResponse', observeDuration);
}

/** Whether work that can wait (webhook deliveries) is yielding to requests, and how often it waited. */
export function instrumentRequestPressure(pressure: RequestPressure, registry: Registry): void {
  new Gauge({
    name: 'workyard_yielding_to_requests',
    help: '1 while requests fill the event loop and work that can wait (webhook deliveries) starts only a few times per interval',
    registers: [registry],
    collect() {
      this.set(pressure.yielding ? 1 : 0);
    },
  });
  new Gauge({
    name: 'workyard_yielding_waits',
    help: 'Times work that can wait has waited for its turn behind requests, since start',
    registers: [registry],
    collect() {
      this.set(pressure.waits);
    },
  });
}

export function instrumentQueue(queue: JobQueue, registry: Registry, timeoutMs: number): JobQueue {
  new Gauge({
    name: 'workyard_queue_jobs',
    help: 'Jobs by job name and state',
    labelNames: ['job', 'state'],
    registers: [registry],
    async collect() {
      const counts = await withDeadline(() => queue.counts(), timeoutMs, () => null).catch(() => null);
      this.reset();
      for (const [job, byState] of Object.entries(counts ?? {})) {
        for (const [state, count] of Object.entries(byState)) this.set({ job, state }, count);
      }
    },
  });
  const outcomes = new Counter({
    name: 'workyard_jobs_finished_total',
    help: 'Job runs by job name and outcome, in this process',
    labelNames: ['job', 'outcome'],
    registers: [registry],
  });
  const runTime = new Histogram({
    name: 'workyard_job_duration_seconds',
    help: 'Job run durations by job name, in this process',
    labelNames: ['job'],
    buckets: [0.0001, 0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300],
    registers: [registry],
  });
  const waitTime = new Histogram({
    name: 'workyard_job_wait_seconds',
    help: 'How long runs waited to start once due (run_at to start) by job name, in this process',
    labelNames: ['job'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'workyard_job_failures_total',
    help: 'Failed runs by job name and error code (timeout, cancelled, permanent, an API error code, or the error name), in this process',
    labelNames: ['job', 'code'],
    registers: [registry],
  });
  const failureCodes = new FailureCodes();
  // The queue tells of each run as it records it, the same on every driver: a run it ended (a
  // timeout, a cancel) counts as that failure even when its handler ignored the signal and returned.
  queue.observeRuns({
    started(name, runAt) {
      waitTime.observe({ job: name }, Math.max(0, Date.now() - runAt) / 1000);
    },
    ended(name, seconds, error, signal) {
      runTime.observe({ job: name }, seconds);
      if (error === undefined) return void outcomes.inc({ job: name, outcome: 'completed' });
      outcomes.inc({ job: name, outcome: 'failed' });
      failures.inc({ job: name, code: failureCodes.of(error, signal()) });
    },
  });
  return queue;
}
