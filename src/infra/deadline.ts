// Shutdown must not wait on a dependency that does not answer: closing steps are raced against
// what is left of the shutdown timeout and left behind past it (the process exits anyway).

/** Whether `work` settles (resolves or rejects) within ms; the work goes on either way. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([work.then(() => true, () => true), over]);
  } finally {
    clearTimeout(timer);
  }
}
