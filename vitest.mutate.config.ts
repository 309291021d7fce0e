import { defineConfig, type ViteUserConfig } from "vitest/config";

// The tests StrykerJS runs for each mutant (`npm run mutate`): the unit and store tests under
// test/core/, test/execution/, test/utils/, test/tracing/ and test/stores/, without the store conformance matrix (two servers, three
// client families and a cluster, about 25 s) and without the HTTP, example and fault tests.
// Stryker runs only the tests that cover a mutant. MUTATE_TESTS (comma-separated globs) narrows
// the set, e.g. to a folder's own unit tests when the store tests, which start servers, would
// make a run of the core take hours: MUTATE_TESTS='test/core/**/*.test.ts'.
const narrowed = process.env["MUTATE_TESTS"]?.split(",").filter(Boolean);

const config: ViteUserConfig = defineConfig({
  test: {
    include:
      narrowed !== undefined && narrowed.length > 0
        ? narrowed
        : [
            "test/core/**/*.test.ts",
            "test/execution/**/*.test.ts",
            "test/utils/**/*.test.ts",
            "test/tracing/**/*.test.ts",
            "test/stores/**/*.test.ts",
          ],
    exclude: ["test/stores/valkey-store.conformance.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});

export default config;
