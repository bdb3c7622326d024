/** The summary of a traffic run as POST /test/{n}/?wait=true answers it. */
export interface TaskSummaryBody {
  task_id: string;
  n: number;
  ok: number;
  failed: number;
  duration_ms: number;
  requests_per_second: number;
  segments: string[];
  first_error?: string;
}
