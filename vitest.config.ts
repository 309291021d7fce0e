import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Store tests start their own servers; keep the two cores from being oversubscribed.
    maxWorkers: 2,
  },
});
