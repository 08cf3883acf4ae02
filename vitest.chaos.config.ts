import { defineConfig } from 'vitest/config';

/**
 * `npm run chaos`: the fault-injection suite against the built CLI (test/chaos/). Slow (minutes)
 * and sequential: one agent process lives through the scenarios in order.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
