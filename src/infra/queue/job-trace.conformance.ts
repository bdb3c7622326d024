// Conformance cases of tracing (job-trace.ts) every driver passes: the W3C trace context of the
// code that enqueued a job travels inside it, and its run is a CONSUMER span under that context;
// a job enqueued outside any trace, a scheduled job, and one enqueued while tracing was off each
// start a trace of their own. The tracer here is an in-memory SDK in this process (the HTTP,
// pg and Redis spans of a whole Workyard are test/unit/tracing.test.ts's).
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { setActiveTracing } from '../telemetry/index.js';
import { withJobTrace } from './job-trace.js';
import { type QueueHarness, useQueueInstances } from './queue.conformance.js';

export function describeJobTraceConformance(label: string, skip: boolean, setup: () => Promise<QueueHarness>): void {
  describe.skipIf(skip)(`queue conformance, trace context: ${label}`, () => {
    const { open, uniqueName } = useQueueInstances(setup);
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('job-trace-conformance');
    const tracing = { api, tracer, jobPropagator: new W3CTraceContextPropagator() };
    const contextManager = new AsyncLocalStorageContextManager();

    beforeAll(() => {
      api.context.setGlobalContextManager(contextManager.enable());
      setActiveTracing(tracing);
    });
    afterAll(async () => {
      setActiveTracing(null);
      api.context.disable();
      await provider.shutdown();
    });
    beforeEach(() => setActiveTracing(tracing));

    /** The run spans of jobs of `name` once `count` have ended. */
    const runSpans = (name: string, count: number) =>
      vi.waitUntil(
        () => {
          const spans = exporter.getFinishedSpans().filter((span) => span.name === `${name} process`);
          return spans.length >= count && spans;
        },
        { timeout: 15_000, interval: 20 },
      );
    /** Runs `fn` in a new active span (as an HTTP request's), which ends when fn settles. */
    const inSpan = <T>(name: string, fn: (span: api.Span) => Promise<T>) =>
      tracer.startActiveSpan(name, async (span) => {
        try {
          return await fn(span);
        } finally {
          span.end();
        }
      });
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

    it('runs a job in a CONSUMER span, the child of the span that enqueued it; what the handler does is under the run', async () => {
      const queue = await open();
      const name = uniqueName('traced');
      let inHandler: api.SpanContext | undefined;
      queue.process(name, async () => {
        inHandler = api.trace.getActiveSpan()?.spanContext();
      });
      await queue.startWorkers();
      const { request, id } = await inSpan('request', async (span) => ({ request: span.spanContext(), id: (await queue.enqueue(name, { n: 1 })).id }));
      const [run] = await runSpans(name, 1);
      expect(run.kind).toBe(api.SpanKind.CONSUMER);
      expect(run.spanContext().traceId).toBe(request.traceId);
      expect(parentOf(run)).toBe(request.spanId);
      expect(run.attributes).toMatchObject({ 'messaging.system': 'workyard', 'messaging.destination.name': name, 'messaging.message.id': id, 'workyard.job.attempt': 1 });
      expect(inHandler).toEqual(run.spanContext());
    });

    it('each job of one enqueueBulk continues the context captured where it was asked for (withJobTrace), or the active one', async () => {
      const queue = await open();
      const name = uniqueName('bulk');
      queue.process<{ from: string }, void>(name, async () => {}, { concurrency: 3 });
      // Two requests capture their jobs' contexts; a third enqueues them all with one of its own.
      const [a, b] = await Promise.all(['a', 'b'].map((from) => inSpan(`request ${from}`, async (span) => ({ span: span.spanContext(), options: withJobTrace({}), from }))));
      const c = await inSpan('request c', async (span) => {
        await queue.enqueueBulk([a, b].map(({ options, from }) => ({ name, data: { from }, options })).concat({ name, data: { from: 'c' }, options: {} }));
        return span.spanContext();
      });
      await queue.startWorkers();
      const runs = await runSpans(name, 3);
      const parents = runs.map((run) => ({ trace: run.spanContext().traceId, parent: parentOf(run) }));
      expect(parents).toEqual(expect.arrayContaining([a.span, b.span, c].map((span) => ({ trace: span.traceId, parent: span.spanId }))));
    });

    it('a job enqueued outside any trace, or while tracing was off, runs as the root of a trace of its own', async () => {
      const queue = await open();
      const name = uniqueName('untraced');
      queue.process(name, async () => {});
      await queue.enqueue(name, { from: 'no span' });
      setActiveTracing(null);
      const off = await inSpan('request while off', async (span) => {
        await queue.enqueue(name, { from: 'tracing off' });
        return span.spanContext();
      });
      setActiveTracing(tracing);
      await queue.startWorkers();
      const runs = await runSpans(name, 2);
      for (const run of runs) {
        expect(parentOf(run)).toBeUndefined();
        expect(run.spanContext().traceId).not.toBe(off.traceId);
      }
    });

    it("marks a failed run's span as an error; each attempt is a span of its own under the same parent", async () => {
      const queue = await open();
      const name = uniqueName('failing');
      queue.process(name, async (job) => {
        if (job.attempt === 1) throw new Error('first run fails');
      });
      await queue.startWorkers();
      const request = await inSpan('request', async (span) => {
        await queue.enqueue(name, null, { attempts: 2, backoffMs: 10 });
        return span.spanContext();
      });
      const runs = (await runSpans(name, 2)).sort((x, y) => Number(x.attributes['workyard.job.attempt']) - Number(y.attributes['workyard.job.attempt']));
      expect(runs.map((run) => [run.attributes['workyard.job.attempt'], parentOf(run), run.status.code])).toEqual([
        [1, request.spanId, api.SpanStatusCode.ERROR],
        [2, request.spanId, api.SpanStatusCode.UNSET],
      ]);
      expect(runs[0].status.message).toBe('first run fails');
    });

    it('a scheduled job starts a trace of its own, though it was scheduled inside a request', async () => {
      const queue = await open();
      const name = uniqueName('scheduled');
      const id = uniqueName('every-second');
      queue.process(name, async () => {});
      await queue.startWorkers();
      const request = await inSpan('request', async (span) => {
        await queue.schedule(id, { cron: '* * * * * *', job: { name } });
        return span.spanContext();
      });
      const [run] = await runSpans(name, 1);
      await queue.unschedule(id);
      expect(parentOf(run)).toBeUndefined();
      expect(run.spanContext().traceId).not.toBe(request.traceId);
    });
  });
}
