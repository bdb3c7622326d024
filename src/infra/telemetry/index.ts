// OpenTelemetry tracing, off unless the OTEL_* environment asks for it (config.ts). Off, nothing
// of OpenTelemetry is loaded, not even its API: the code that traces (job-trace.ts, the logger,
// SQLite statements) asks activeTracing() and does nothing more when it answers null.
import type * as OtelApi from '@opentelemetry/api';
import type { TracingSettings } from '../../config.js';

/** What tracing code uses once the SDK has started. */
export interface ActiveTracing {
  api: typeof OtelApi;
  tracer: OtelApi.Tracer;
  /**
   * W3C trace context (traceparent, tracestate) whatever OTEL_PROPAGATORS says for HTTP: a job
   * carries exactly that, so any process reads it the same way.
   */
  jobPropagator: OtelApi.TextMapPropagator;
}

export interface Tracing {
  /** Sends the spans not yet exported, then stops the SDK (on exit). */
  shutdown(): Promise<void>;
}

let active: ActiveTracing | null = null;

/** null while tracing is off. */
export function activeTracing(): ActiveTracing | null {
  return active;
}

/** For sdk.ts, once the SDK has started (and for tests that register a provider of their own). */
export function setActiveTracing(tracing: ActiveTracing | null): void {
  active = tracing;
}

/**
 * Starts the SDK when `settings` say so (null: off, and nothing is loaded). It must run before the
 * modules it instruments (http, pg, ioredis, the AWS SDK) are first imported: main.ts calls it
 * before it imports the app.
 */
export async function startTracing(settings: TracingSettings | null): Promise<Tracing | null> {
  if (!settings) return null;
  const { startOtelSdk } = await import('./sdk.js');
  return startOtelSdk(settings);
}
