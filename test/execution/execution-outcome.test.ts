// executionOutcomeKinds lists every kind Idempotency.execute answers with, and no other.
import { describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import {
  executionOutcomeKinds,
  type ExecutionOutcomeKind,
} from "../../src/execution/execution-outcome.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";

describe("executionOutcomeKinds", () => {
  it("lists the four kinds, in this order", () => {
    expect(executionOutcomeKinds).toEqual([
      "executed",
      "replayed",
      "in-flight",
      "fingerprint-mismatch",
    ]);
  });

  it("holds every kind execute answers with", async () => {
    const idempotency = new Idempotency({ store: new MemoryStore() });
    const request = { operation: "POST /orders", body: "{}" };
    const key = IdempotencyKey.random();
    const seen = new Set<ExecutionOutcomeKind>();
    let finish: () => void = () => undefined;
    const running = idempotency.execute(
      key,
      request,
      () =>
        new Promise<string>((resolve) => {
          finish = () => {
            resolve("done");
          };
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen.add((await idempotency.execute(key, request, () => "never")).kind);
    finish();
    seen.add((await running).kind);
    seen.add((await idempotency.execute(key, request, () => "never")).kind);
    seen.add((await idempotency.execute(key, { ...request, body: "[]" }, () => "never")).kind);
    expect([...seen].sort()).toEqual([...executionOutcomeKinds].sort());
  });
});
