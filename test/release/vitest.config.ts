import path from 'node:path';
import { defineConfig } from 'vitest/config';

// `npm run test:release`: the release checks' own tests (the Dockerfile reader, the image check's
// refusals). The image check itself and the deploy and package checks run from .ci/run.
export default defineConfig({
  test: {
    root: path.resolve(import.meta.dirname, '../..'),
    include: ['test/release/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
