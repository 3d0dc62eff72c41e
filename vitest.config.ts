import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Integration tests start real processes (socat, mosquitto_sub, the gateway); run files
    // one or two at a time on the 2-core CI machine so timeouts measure bugs, not contention.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
