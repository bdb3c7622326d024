// How a driver's failure reads to a client: an engine that cannot be reached is a 503 naming it,
// within the dependency deadline; anything else an engine refuses is the caller's to decide.
import { AppError, type DependencyName, DependencyUnavailableError, TimeoutError } from '../errors.js';
import { withDeadline } from './deadline.js';

/**
 * Runs a call to a dependency with a deadline. A dependency that is down must give a fast 503
 * naming it, never a hung request; the underlying call may still settle later and is ignored.
 */
export async function callDependency<T>(dependency: DependencyName, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(call, timeoutMs, () => {
      throw new DependencyUnavailableError(dependency, new TimeoutError(`no answer within ${timeoutMs} ms`));
    });
  } catch (error) {
    if (error instanceof AppError || !isConnectionError(error)) throw error;
    throw new DependencyUnavailableError(dependency, error);
  }
}

const connectionErrorCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'SQLITE_BUSY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_FULL',
  '57P01', '57P02', '57P03', '53300',
]);

/**
 * Tells an engine that cannot be reached from an engine that refused a query (a constraint, a
 * bad statement): only the first is a 503, the second is a bug or a 4xx decided by the caller.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (connectionErrorCodes.has(code) || code.startsWith('08'))) return true;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'TimeoutError') return true;
  return /connection (is )?closed|connection terminated|enableOfflineQueue|socket (hang up|closed)|not connected|client has encountered a connection error|Connection ended/i.test(
    error.message,
  );
}
