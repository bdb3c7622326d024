// How a task's log lines (ctx.log in its handler) look to API clients: RFC 3339 times, oldest first,
// in GET /tasks/{id}/logs and in the `log` events of GET /tasks/{id}/events alike.
import { Type } from 'typebox';
import { type JobEvent, type JobLogLine, MAX_LOG_BYTES, MAX_LOG_LINES } from '../../infra/queue/contract.js';

export const LogLineSchema = Type.Object({
  at: Type.String({ format: 'date-time', description: 'when the handler logged it' }),
  message: Type.String(),
});

export const TaskLogsSchema = Type.Object({
  logs: Type.Array(LogLineSchema, { description: `oldest first; the task keeps its last ${MAX_LOG_LINES} lines, ${MAX_LOG_BYTES / 1024} KiB in all` }),
});

export function logLineView(line: JobLogLine) {
  return { at: new Date(line.at).toISOString(), message: line.message };
}

/** An event as the stream sends it: a log line's time in RFC 3339, as GET /tasks/{id}/logs shows it. */
export function eventView(event: JobEvent) {
  return event.type === 'log' ? { ...event, line: logLineView(event.line) } : event;
}
