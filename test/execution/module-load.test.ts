// Every execution module loads on its own. A fault at load (a shared default, the touch queues)
// otherwise fails every test file that imports the module before any test runs, which a runner
// may report as no tests rather than as a failure (StrykerJS's vitest runner counts such a
// mutant as survived). The imports are literal so that vitest sees this file as related to each
// module.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const loaders: Record<string, () => Promise<unknown>> = {
  "claim-guard.ts": () => import("../../src/execution/claim-guard.ts"),
  "execution-outcome.ts": () => import("../../src/execution/execution-outcome.ts"),
  "idempotency-event.ts": () => import("../../src/execution/idempotency-event.ts"),
  "idempotency.ts": () => import("../../src/execution/idempotency.ts"),
  "idempotent-function.ts": () => import("../../src/execution/idempotent-function.ts"),
  "lease-keeper.ts": () => import("../../src/execution/lease-keeper.ts"),
};

describe("execution modules", () => {
  it("lists every module of the folder", () => {
    const modules = readdirSync(new URL("../../src/execution/", import.meta.url)).filter((name) =>
      name.endsWith(".ts"),
    );
    expect(Object.keys(loaders).sort()).toEqual(modules.sort());
  });

  it.each(Object.entries(loaders))("%s loads", async (_, load) => {
    expect(await load()).toBeTypeOf("object");
  });
});
