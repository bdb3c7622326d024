// The one way a call races a timer. A dependency that does not answer must not hang a request
// (a fast 503 naming it) nor hold up shutdown (closing steps are left behind past the timeout).

/**
 * What `work` settles with, or else what `onTimeout` returns (or throws) once `ms` have passed.
 * The work goes on either way; its later outcome is ignored. The timer starts before the work, so
 * that an outer deadline fires before an inner one of the same length.
 */
export async function withDeadline<T, U = never>(work: () => Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))).then(onTimeout);
  try {
    return await Promise.race([work(), over]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `work` settles (resolves or rejects) within ms; the work goes on either way. */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return withDeadline(() => work.then(() => true, () => true), ms, () => false);
}
