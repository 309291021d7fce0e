// Every core module loads on its own. Some compute at load (the XXH3 secret, the text decoder,
// the entry factory, the backend choice); a fault there fails every test file that imports the
// module before any test runs, which a runner may report as no tests rather than as a failure
// (StrykerJS's vitest runner counts such a mutant as survived). Imported here inside a test,
// such a fault is a failing test. The imports are literal so that vitest sees this file as
// related to each module.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const loaders: Record<string, () => Promise<unknown>> = {
  "cached-response.ts": () => import("./cached-response.ts"),
  "clock.ts": () => import("./clock.ts"),
  "default-fingerprint-strategy.ts": () => import("./default-fingerprint-strategy.ts"),
  "fenced-outcome.ts": () => import("./fenced-outcome.ts"),
  "fencing-token.ts": () => import("./fencing-token.ts"),
  "fingerprint-strategy.ts": () => import("./fingerprint-strategy.ts"),
  "fingerprint.ts": () => import("./fingerprint.ts"),
  "idempotency-entry.ts": () => import("./idempotency-entry.ts"),
  "idempotency-key.ts": () => import("./idempotency-key.ts"),
  "idempotency-store.ts": () => import("./idempotency-store.ts"),
  "insert-result.ts": () => import("./insert-result.ts"),
  "restore-entry.ts": () => import("./restore-entry.ts"),
  "sha256-fingerprint-strategy.ts": () => import("./sha256-fingerprint-strategy.ts"),
  "store-arguments.ts": () => import("./store-arguments.ts"),
  "ttl.ts": () => import("./ttl.ts"),
  "xxh3-128.ts": () => import("./xxh3-128.ts"),
  "xxh3-backend.ts": () => import("./xxh3-backend.ts"),
};

describe("core modules", () => {
  it("lists every module of the folder", () => {
    const modules = readdirSync(new URL(".", import.meta.url)).filter(
      (name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".test-d.ts"),
    );
    expect(Object.keys(loaders).sort()).toEqual(modules.sort());
  });

  it.each(Object.entries(loaders))("%s loads", async (_, load) => {
    expect(await load()).toBeTypeOf("object");
  });
});
