// The V8 flags every Workyard process runs with: in the Dockerfile's ENTRYPOINT, the `workyard`
// command's first line, `npm start`, and the processes tests and benchmarks start (a release test
// checks that they agree).
//
// --max-semi-space-size=8: V8 sizes the young generation by the machine's memory; on a 24 GiB
// machine it grew to about 45 MB, and each of its collections (every second or two under load)
// copied what a collection before had left alive and stopped the process for 7–27 ms — the p99
// of every route. With 8 MB semi-spaces they stop it 1.6–4.4 ms (measured with --trace-gc under
// bench/lib/steady-load.ts; README, "One V8 flag").
export const NODE_FLAGS = ['--max-semi-space-size=8'] as const;
