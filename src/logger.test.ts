import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { setActiveTracing } from './infra/telemetry/index.js';
import { createLogger } from './logger.js';

describe('log lines and traces', () => {
  const provider = new TracerProvider();
  const tracer = provider.getTracer('logger-test');
  afterEach(() => {
    setActiveTracing(null);
    api.context.disable();
  });

  function collect() {
    const lines: Record<string, unknown>[] = [];
    return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
  }

  it('carry trace_id and span_id inside a span when tracing is on, and nothing more outside one', () => {
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    setActiveTracing({ api, tracer, jobPropagator: new W3CTraceContextPropagator() });
    const { lines, destination } = collect();
    const log = createLogger('info', 'test', destination);
    const span = tracer.startActiveSpan('request', (active) => {
      log.info('inside');
      active.end();
      return active.spanContext();
    });
    log.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', trace_id: span.traceId, span_id: span.spanId });
    expect(lines[0].trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[1]).toMatchObject({ msg: 'outside' });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('carry no trace fields when tracing is off, even inside a span', () => {
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const { lines, destination } = collect();
    const log = createLogger('info', 'test', destination);
    tracer.startActiveSpan('request', (active) => {
      log.info('inside');
      active.end();
    });
    expect(lines[0]).toMatchObject({ msg: 'inside' });
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('span_id');
  });
});
