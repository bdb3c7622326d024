// The `code` label of workyard_job_failures_total: why a run failed, from a small set, so that
// error names cannot make the series grow without bound.
import { AppError, ErrorCodes } from '../errors.js';
import { isPermanentJobError } from '../infra/queue/contract.js';

/** Labels other than the fixed ones (error names seen) a process keeps; later names count as `other`. */
export const MAX_NAMED_FAILURE_CODES = 16;

/**
 * - `timeout`: the run passed its timeoutMs (the driver's JobTimeoutError, or the handler's signal
 *   aborted with a TimeoutError);
 * - `cancelled`: the job was cancelled while it ran (JobCancelledError);
 * - `permanent`: a PermanentJobError (the handler gave up on the job);
 * - an AppError's code (`dependency_unavailable`, `not_found`, …: a fixed list, errors.ts), also
 *   on an error that is no AppError but carries one of those codes (rebuilt from a worker thread);
 * - else the error's class name, lower-cased (`typeerror`), for the first MAX_NAMED_FAILURE_CODES
 *   names this process sees, then `other`; a thrown value that is no Error is `unknown`.
 */
export class FailureCodes {
  private readonly named = new Set<string>();

  /** `signal`: the handler's signal; when it was aborted, its reason is why the run ended. */
  of(error: unknown, signal?: AbortSignal): string {
    const aborted = signal?.aborted === true;
    const cause: unknown = aborted ? signal!.reason : error;
    if (!(cause instanceof Error)) return 'unknown';
    // A TimeoutError is a timeout of the run only as the signal's reason: handlers meet others (a waitForFinish).
    if (cause.name === 'JobTimeoutError' || (aborted && cause.name === 'TimeoutError')) return 'timeout';
    if (cause.name === 'JobCancelledError') return 'cancelled';
    if (isPermanentJobError(cause)) return 'permanent';
    if (cause instanceof AppError) return cause.code;
    // An AppError rebuilt from a worker thread is a plain Error that kept its code.
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && Object.hasOwn(ErrorCodes, code)) return code;
    const name = cause.name.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40) || 'error';
    if (this.named.has(name)) return name;
    if (this.named.size >= MAX_NAMED_FAILURE_CODES) return 'other';
    this.named.add(name);
    return name;
  }
}
