import { defineConfig } from 'vitest/config';

// `npm test` runs two projects: `unit` (every module's tests, the conformance suites of every
// driver, the browser tests; two files at a time) and then `timing` — the suites whose assertions
// are about latency under load (healthz under 100 ms while thousands of requests wait, 10,000
// waiters, kill-and-restart runs). Those run one file at a time, after the rest, so that the
// machine's two cores are not shared with another suite while they measure. The cluster, fault and
// fuzz suites are projects of their own, run by their npm scripts (and by .ci/run).
const shared = { testTimeout: 60_000, hookTimeout: 120_000, pool: 'forks' as const };

const timing = [
  'src/infra/queue/*.test.ts',
  'src/infra/counters/*.test.ts',
  'src/infra/db/paced-turns.test.ts',
  'src/modules/dashboard/redis-down.test.ts',
  'src/modules/stats/traffic-load.test.ts',
  'src/modules/compute/non-blocking.test.ts',
  'src/modules/feedback/exactly-once.test.ts',
  'src/modules/blobs/large-objects.test.ts',
];

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/browser/**/*.test.ts'], exclude: timing } },
      { test: { ...shared, name: 'timing', include: timing, fileParallelism: false, sequence: { groupOrder: 1 } } },
      // `npm run test:load`: the compute non-blocking proof alone (it is also part of `timing`).
      { test: { ...shared, name: 'load', include: ['src/modules/compute/non-blocking.test.ts'], fileParallelism: false } },
      { test: { ...shared, name: 'cluster', include: ['test/cluster/**/*.test.ts'], fileParallelism: false } },
      { test: { ...shared, name: 'faults', include: ['test/faults/**/*.test.ts'], fileParallelism: false } },
      { test: { ...shared, name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
