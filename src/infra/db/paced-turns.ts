// Between two slices of a job's work on the embedded database. better-sqlite3 answers on the event
// loop, so a job that only turned the loop between its statements still had the loop to itself
// all but a moment between them: a request arriving during a roll-up waited behind slice after
// slice (bench:stats-rollup: p99 of /api/* 2.7 × without the job). After each slice the job rests
// as long as the slice took, so it takes at most half the loop and requests go first.
import { setTimeout as sleep } from 'node:timers/promises';

/** the longest rest: a slice that ran long is not paid for with a long pause */
export const MAX_REST_MS = 50;

/** A function to await between slices: a rest as long as the work since the last call. */
export function pacedTurns(): () => Promise<void> {
  let since = performance.now();
  return async () => {
    await sleep(Math.min(performance.now() - since, MAX_REST_MS));
    since = performance.now();
  };
}
