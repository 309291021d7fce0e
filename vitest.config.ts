import { defineConfig, type ViteUserConfig } from "vitest/config";

const config: ViteUserConfig = defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Store tests start their own servers; keep the two cores from being oversubscribed.
    maxWorkers: 2,
  },
});

export default config;
