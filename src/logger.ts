// Structured logs (pino) for every process; one JSON line per event on stdout.
import pino from 'pino';
import { activeTracing } from './infra/telemetry/index.js';

/**
 * With tracing on (started before the logger is made, as main.ts does), each line logged inside
 * a span carries its trace_id and span_id, so a log line leads to its trace and back.
 */
export function createLogger(level: string, name = 'workyard', destination?: pino.DestinationStream) {
  const tracing = activeTracing();
  const mixin = tracing
    ? () => {
        const span = tracing.api.trace.getActiveSpan()?.spanContext();
        return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
      }
    : undefined;
  return pino({ level, name, base: { pid: process.pid }, mixin }, destination);
}
