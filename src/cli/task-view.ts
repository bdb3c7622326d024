// The task as the HTTP API shows it (GET /tasks/{id}): the fields the operator commands read.
// Declared here rather than imported from the tasks module: the CLI is a client of the API and
// reads what the server sends, whichever version that server runs.

export type TaskState = 'queued' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

export const FINAL_TASK_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export interface AttemptView {
  attempt: number;
  started_at: string;
  finished_at: string | null;
  error: string | null;
}

export interface TaskView {
  id: string;
  name: string;
  state: TaskState;
  progress: unknown;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
  priority: number;
  run_at: string;
  timeout_ms: number | null;
  group?: string;
  key?: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  dead?: boolean;
  stack?: string | null;
  attempt_history?: AttemptView[];
}

export interface TaskPage {
  tasks: TaskView[];
  next_cursor: string | null;
}

export interface LogLine {
  /** RFC 3339 in GET /tasks/{id}/logs; tolerated as epoch ms in the event stream's `log` events */
  at: string | number;
  message: string;
}

/** `failed (dead)` for a job with no attempts left: what a retry is for. */
export const stateLabel = (task: Pick<TaskView, 'state' | 'dead'>) => (task.state === 'failed' && task.dead ? 'failed (dead)' : task.state);

/**
 * How far a task is, from its progress: a number is a percentage; an object is read for a count
 * out of a total (`{done, total}`, or a traffic run's `{sent, n}`). `text` is what to print
 * beside the bar; `value`/`total` are null when the progress says no count.
 */
export function describeProgress(progress: unknown): { value: number | null; total: number | null; text: string } {
  if (typeof progress === 'number' && Number.isFinite(progress)) {
    const percent = Math.min(100, Math.max(0, progress));
    return { value: percent, total: 100, text: `${percent}%` };
  }
  if (progress && typeof progress === 'object' && !Array.isArray(progress)) {
    const fields = progress as Record<string, unknown>;
    const done = firstNumber(fields, ['done', 'sent', 'completed', 'processed']);
    const total = firstNumber(fields, ['total', 'n']);
    const numbers = Object.entries(fields)
      .filter(([, value]) => typeof value === 'number' || typeof value === 'string')
      .map(([key, value]) => `${key} ${value}`)
      .join(', ');
    if (done !== null && total !== null && total > 0) return { value: Math.min(done, total), total, text: numbers };
    return { value: null, total: null, text: numbers || JSON.stringify(progress) };
  }
  return { value: null, total: null, text: progress === null || progress === undefined ? '' : JSON.stringify(progress) };
}

function firstNumber(fields: Record<string, unknown>, names: string[]): number | null {
  for (const name of names) if (typeof fields[name] === 'number' && Number.isFinite(fields[name])) return fields[name];
  return null;
}
