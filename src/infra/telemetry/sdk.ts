// The OpenTelemetry SDK: traces of HTTP (server and client), PostgreSQL (pg), Redis (ioredis, so
// BullMQ's commands too) and S3 (the AWS SDK), exported as the OTEL_* environment says. Imported
// only when tracing is on (index.ts).
//
// Workyard runs as ES modules (`node dist/main.js`, `node --import tsx src/main.ts`). OpenTelemetry
// patches a module as it is loaded: CommonJS through require-in-the-middle, ES modules through
// import-in-the-middle's loader hook. So the hook is registered here, at run time, with
// module.register (no --import flag to remember, nothing loaded when tracing is off), asking only
// for the modules the instrumentations named (createAddHookMessageChannel), and main.ts imports
// the app only after this has resolved.
import { register } from 'node:module';
import * as api from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import type { TracingSettings } from '../../config.js';
import { type Tracing, setActiveTracing } from './index.js';

/** Probes that orchestrators send every few seconds: a trace each would bury the requests. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz']);

export async function startOtelSdk(settings: TracingSettings): Promise<Tracing> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]) }),
      // Only within a trace (a request, a job): the queue's polls and BullMQ's blocking reads
      // would otherwise each start a trace of their own, several a second per worker.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new AwsInstrumentation(),
    ],
    // Traces only: metrics are Prometheus' (/metrics), logs are pino's lines on stdout.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // The loader thread knows which modules to hook only once it has acknowledged them.
  await waitForAllMessagesAcknowledged();
  setActiveTracing({ api, tracer: api.trace.getTracer('workyard'), jobPropagator: new W3CTraceContextPropagator() });
  return {
    async shutdown() {
      setActiveTracing(null);
      await sdk.shutdown();
    },
  };
}
