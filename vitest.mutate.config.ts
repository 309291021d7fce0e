import { defineConfig, type ViteUserConfig } from "vitest/config";

// The tests StrykerJS runs for each mutant (`npm run mutate`): the unit and store tests under
// src/, test/core/ and test/stores/, without the store conformance matrix (two servers, three client
// families and a cluster, about 25 s) and without the HTTP, example and fault tests. Stryker
// runs only the tests that cover a mutant.
const config: ViteUserConfig = defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/core/*.test.ts", "test/stores/*.test.ts"],
    exclude: ["src/stores/valkey/valkey-store.conformance.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});

export default config;
