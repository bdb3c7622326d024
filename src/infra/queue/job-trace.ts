// A job carries the W3C trace context of the code that enqueued it, so that one trace runs from an
// HTTP request through the enqueue to the worker's run (in any process) and what the run calls.
// Both drivers store the carrier with the job (SQL: the `trace` column; BullMQ: the job's
// `workyard` fields) and run the handler inside traceJobRun. With tracing off (activeTracing()
// null) every function here returns at once: no carrier is stored, no span made.
import type { Context } from '@opentelemetry/api';
import { type ActiveTracing, activeTracing } from '../telemetry/index.js';
import type { EnqueueOptions } from './contract.js';

/** The W3C trace context headers, as a job keeps them. */
export interface JobTraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/**
 * EnqueueOptions with the trace context to continue, for a caller that enqueues on behalf of
 * others later (a TickBatch gathering many requests' jobs into one enqueueBulk, which runs in the
 * context of whichever request came first): it captures each job's context with withJobTrace()
 * where the job was asked for. Without it, a job continues the context active at the enqueue.
 */
export interface TracedEnqueueOptions extends EnqueueOptions {
  trace?: JobTraceCarrier;
}

/** The active trace context as a carrier; undefined when tracing is off or no span is active. */
export function currentJobTrace(): JobTraceCarrier | undefined {
  const tracing = activeTracing();
  if (!tracing) return undefined;
  const carrier: Partial<JobTraceCarrier> = {};
  tracing.jobPropagator.inject(tracing.api.context.active(), carrier, tracing.api.defaultTextMapSetter);
  return carrier.traceparent ? (carrier as JobTraceCarrier) : undefined;
}

/** `options` with the active trace context captured (the same object when there is none). */
export function withJobTrace<Options extends EnqueueOptions>(options: Options): Options & TracedEnqueueOptions {
  const trace = currentJobTrace();
  return trace ? { ...options, trace } : options;
}

/** The carrier a job is stored with: the one its options name, else the active context's. */
export function jobTraceOf(options: EnqueueOptions): JobTraceCarrier | undefined {
  return (options as TracedEnqueueOptions).trace ?? currentJobTrace();
}

/** The carrier as the SQL driver stores it (null: none). */
export function jobTraceText(options: EnqueueOptions): string | null {
  const trace = jobTraceOf(options);
  return trace ? JSON.stringify(trace) : null;
}

/** Runs `fn` outside any trace: what it enqueues starts traces of its own (a schedule's jobs). */
export function withoutJobTrace<T>(fn: () => T): T {
  const tracing = activeTracing();
  return tracing ? tracing.api.context.with(tracing.api.ROOT_CONTEXT, fn) : fn();
}

export interface TracedRun {
  id: string;
  name: string;
  attempt: number;
  /** as stored: a carrier, its JSON text (SQL), or nothing */
  trace: JobTraceCarrier | string | null | undefined;
}

/**
 * Runs a job's handler inside a CONSUMER span `<name> process`, the child of the span that
 * enqueued it (from its carrier), or the root of a trace of its own when it has none (a scheduled
 * job). What the handler calls (SQL, Redis, S3, HTTP) is traced under it. Tracing off: handler() alone.
 */
export function traceJobRun<T>(run: TracedRun, handler: () => Promise<T>): Promise<T> {
  const tracing = activeTracing();
  if (!tracing) return handler();
  const { api, tracer } = tracing;
  // The root context, not the active one: a worker's run must not join whatever trace the claim
  // (or BullMQ's fetch) happened to run in.
  const parent = parentContext(run.trace, tracing);
  // Few attributes: each is checked and copied per span, and a queue runs thousands of jobs a second.
  const attributes = { 'messaging.system': 'workyard', 'messaging.destination.name': run.name, 'messaging.message.id': run.id, 'workyard.job.attempt': run.attempt };
  return tracer.startActiveSpan(`${run.name} process`, { kind: api.SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      return await handler();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

function parentContext(stored: TracedRun['trace'], { api, jobPropagator }: ActiveTracing): Context {
  if (!stored) return api.ROOT_CONTEXT;
  let carrier: unknown = stored;
  if (typeof stored === 'string') {
    try {
      carrier = JSON.parse(stored);
    } catch {
      return api.ROOT_CONTEXT;
    }
  }
  if (!carrier || typeof carrier !== 'object') return api.ROOT_CONTEXT;
  return jobPropagator.extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter);
}
