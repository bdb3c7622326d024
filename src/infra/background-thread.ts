// What a worker thread doing a job's long work (a roll-up's statements, a window's sums) runs
// first: it lowers its own priority, so that the event loop's requests get the CPU first.
// setpriority() on a thread id changes that thread alone (Linux, where /proc/thread-self names
// it); elsewhere the thread keeps the process's priority.
/** CommonJS, for a thread's eval'd source */
export const LOWER_THREAD_PRIORITY = `
try {
  require('node:os').setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {}
`;
