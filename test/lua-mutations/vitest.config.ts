import { defineConfig, type ViteUserConfig } from "vitest/config";

// Only for test/lua-mutations.test.ts: every test of the suite runs concurrently (each uses
// keys of its own), so the real-time waits of the conformance suites overlap.
const config: ViteUserConfig = defineConfig({
  test: {
    include: ["test/lua-mutations/mutated-stores.suite.ts"],
    sequence: { concurrent: true },
    maxConcurrency: 12,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});

export default config;
