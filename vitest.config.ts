import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Cluster tests bind real ports and write real files; two workers fit a 2-core machine.
    maxWorkers: 2,
    env: { MQDESK_LOG: 'warn' },
  },
});
