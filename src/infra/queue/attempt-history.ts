// A job's runs as JobRecord.history shows them, on both drivers: the runs the backend stored as
// they ended (failed and stalled ones), plus the last run read from the job itself (running,
// completed, or failed without a stored entry, e.g. BullMQ failing a job that stalled too often).
import { type AttemptRecord, type JobState, MAX_ATTEMPT_HISTORY } from './contract.js';

/** How the job stands now: its last run's number, times and error. */
export interface LastRun {
  state: JobState;
  attempts: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

export function attemptHistory(stored: AttemptRecord[], last: LastRun): AttemptRecord[] {
  const runs = [...stored].sort((a, b) => a.attempt - b.attempt);
  const recorded = runs.length > 0 && runs[runs.length - 1].attempt >= last.attempts;
  const ran = last.attempts > 0 && last.startedAt !== null && (last.state === 'active' || last.state === 'completed' || last.state === 'failed' || last.state === 'cancelled');
  if (!recorded && ran) {
    runs.push({
      attempt: last.attempts,
      startedAt: last.startedAt!,
      finishedAt: last.state === 'active' ? null : last.finishedAt,
      error: last.state === 'failed' || last.state === 'cancelled' ? last.error : null,
    });
  }
  return runs.slice(-MAX_ATTEMPT_HISTORY);
}

/** Entries stored as a comma-separated list of JSON objects (the SQL column), or null. */
export function parseStoredAttempts(text: string | null): AttemptRecord[] {
  if (!text) return [];
  try {
    return (JSON.parse(`[${text}]`) as AttemptRecord[]).filter((entry) => entry && typeof entry.attempt === 'number');
  } catch {
    return [];
  }
}
