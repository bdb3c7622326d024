import { defineConfig } from 'vitest/config';

// `npm test` runs the `unit` project: every module's tests, the queue/store/counter conformance
// suites on every driver, and the browser tests. The cluster, fault and fuzz suites are projects
// of their own, run by their npm scripts (and by .ci/run).
const shared = { testTimeout: 60_000, hookTimeout: 120_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/browser/**/*.test.ts'] } },
      { test: { ...shared, name: 'cluster', include: ['test/cluster/**/*.test.ts'], fileParallelism: false } },
      { test: { ...shared, name: 'faults', include: ['test/faults/**/*.test.ts'], fileParallelism: false } },
      { test: { ...shared, name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
