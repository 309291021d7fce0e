// Every core module loads on its own. Some compute at load (the XXH3 secret, the text decoder,
// the entry factory, the backend choice); a fault there fails every test file that imports the
// module before any test runs, which a runner may report as no tests rather than as a failure
// (StrykerJS's vitest runner counts such a mutant as survived). Imported here inside a test,
// such a fault is a failing test. The imports are literal so that vitest sees this file as
// related to each module.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const loaders: Record<string, () => Promise<unknown>> = {
  "cached-response.ts": () => import("../../src/core/cached-response.ts"),
  "clock.ts": () => import("../../src/core/clock.ts"),
  "default-fingerprint-strategy.ts": () => import("../../src/core/default-fingerprint-strategy.ts"),
  "fenced-outcome.ts": () => import("../../src/core/fenced-outcome.ts"),
  "fencing-token.ts": () => import("../../src/core/fencing-token.ts"),
  "fingerprint-strategy.ts": () => import("../../src/core/fingerprint-strategy.ts"),
  "fingerprint.ts": () => import("../../src/core/fingerprint.ts"),
  "idempotency-entry.ts": () => import("../../src/core/idempotency-entry.ts"),
  "idempotency-key.ts": () => import("../../src/core/idempotency-key.ts"),
  "idempotency-store.ts": () => import("../../src/core/idempotency-store.ts"),
  "insert-result.ts": () => import("../../src/core/insert-result.ts"),
  "restore-entry.ts": () => import("../../src/core/restore-entry.ts"),
  "sha256-fingerprint-strategy.ts": () => import("../../src/core/sha256-fingerprint-strategy.ts"),
  "store-arguments.ts": () => import("../../src/core/store-arguments.ts"),
  "ttl.ts": () => import("../../src/core/ttl.ts"),
  "xxh3-128.ts": () => import("../../src/core/xxh3-128.ts"),
  "xxh3-backend.ts": () => import("../../src/core/xxh3-backend.ts"),
};

describe("core modules", () => {
  it("lists every module of the folder", () => {
    const modules = readdirSync(new URL("../../src/core/", import.meta.url)).filter(
      (name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".test-d.ts"),
    );
    expect(Object.keys(loaders).sort()).toEqual(modules.sort());
  });

  it.each(Object.entries(loaders))("%s loads", async (_, load) => {
    expect(await load()).toBeTypeOf("object");
  });
});
