// OpenTelemetry, end to end: a real Workyard process (`workyard start`, as it runs in production)
// with tracing on sends its spans to a local OTLP/HTTP receiver. A queued feedback save makes one
// trace: the HTTP request's server span is an ancestor of the worker's job span (the W3C trace
// context travelled inside the job) and of the SQL statement that saved the row — pg's span on
// PostgreSQL, Workyard's own on SQLite (better-sqlite3 has no instrumentation) — and, on BullMQ,
// of ioredis' commands. On every driver. A scheduled job starts a trace of its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { driverMatrix, type DriverUnderTest } from '../support/drivers.js';
import { freePort } from '../support/free-port.js';
import { type OtlpReceiver, type ReceivedSpan, SpanKind, ancestorsOf, startOtlpReceiver } from '../support/otlp-receiver.js';
import { type WorkyardProcess, startWorkyardProcess } from '../support/workyard-process.js';

const EXPORTED_WITHIN_MS = 30_000;

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`traces on ${driver.name}`, () => {
    let receiver: OtlpReceiver;
    let drivers: DriverUnderTest;
    let dataDir: string;
    let workyard: WorkyardProcess;

    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      drivers = await driver.setUp();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-tracing-'));
      workyard = await startWorkyardProcess('start', {
        ...drivers.env,
        WORKYARD_DATA_DIR: dataDir,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'workyard-test',
        // spans leave in batches every 5 s by default: sooner, so the test does not wait
        OTEL_BSP_SCHEDULE_DELAY: '100',
        WORKYARD_LOG_LEVEL: 'info',
      }, await freePort());
    });

    afterAll(async () => {
      await workyard?.kill('SIGTERM');
      await drivers?.cleanup();
      await receiver?.close();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** The spans of the trace `span` belongs to. */
    const traceOf = (span: ReceivedSpan) => receiver.spans.filter((s) => s.traceId === span.traceId);

    it('runs one trace from the queued save request through the worker to its SQL', async () => {
      const response = await fetch(`${workyard.baseUrl}/feedback/async`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', message: 'traced from request to row', rating: 5 }),
      });
      expect(response.status).toBe(202);
      const { task_id: taskId } = (await response.json()) as { task_id: string };

      // The job span, and below it the statement that inserted the row, once both are exported.
      const found = await vi.waitUntil(
        () => {
          const job = receiver.spans.find((s) => s.kind === SpanKind.consumer && s.attributes['messaging.message.id'] === taskId);
          if (!job) return undefined;
          const insert = traceOf(job).find((s) => isFeedbackInsert(s, driver.dialect) && ancestorsOf(receiver.spans, s).includes(job));
          return insert && { job, insert };
        },
        { timeout: EXPORTED_WITHIN_MS, interval: 100 },
      ).catch(() => undefined);
      expect(found, `no job span with its feedback insert below it; received: ${listed(receiver.spans)}\n${workyard.output()}`).toBeDefined();
      const { job, insert } = found!;

      expect(job).toMatchObject({ name: 'feedback.save process', service: 'workyard-test' });
      expect(job.attributes).toMatchObject({ 'messaging.system': 'workyard', 'messaging.destination.name': 'feedback.save', 'workyard.job.attempt': 1 });
      // The request's server span is the trace's root, and an ancestor of the job and of its SQL.
      const server = ancestorsOf(receiver.spans, job).at(-1)!;
      expect(server.kind, listed(traceOf(job))).toBe(SpanKind.server);
      expect(server.parentSpanId || null).toBeNull();
      expect(server.name).toMatch(/^POST/);
      expect(server.attributes['url.path'] ?? server.attributes['http.target']).toBe('/feedback/async');
      expect(ancestorsOf(receiver.spans, insert)).toContain(server);
      expect(insert.kind).toBe(SpanKind.client);
      // The enqueue itself is in the request's part of the trace: the job's row or Redis commands.
      const enqueue = traceOf(job).filter((s) => s.kind === SpanKind.client && !ancestorsOf(receiver.spans, s).includes(job));
      expect(enqueue.length, listed(traceOf(job))).toBeGreaterThan(0);
      if (driver.queue === 'bullmq') {
        expect(enqueue.some((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis'), listed(enqueue)).toBe(true);
      }
    });
  });
}

function isFeedbackInsert(span: ReceivedSpan, dialect: 'sqlite' | 'postgres'): boolean {
  const text = String(span.attributes['db.query.text'] ?? span.attributes['db.statement'] ?? '');
  const system = span.attributes['db.system.name'] ?? span.attributes['db.system'];
  return system === (dialect === 'sqlite' ? 'sqlite' : 'postgresql') && /insert into "?feedback_entries"?/i.test(text);
}

/** The spans as lines, for a failure message. */
function listed(spans: ReceivedSpan[]): string {
  return spans.map((s) => `${s.traceId.slice(0, 8)} ${s.spanId} ← ${s.parentSpanId || '-'} kind ${s.kind} ${s.name}`).join('\n');
}
