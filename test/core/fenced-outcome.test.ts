import { describe, expect, it } from "vitest";
import { fencedOutcome, fencedOutcomeKinds } from "../../src/core/fenced-outcome.ts";

describe("fencedOutcome", () => {
  it("lists the four kinds", () => {
    expect(fencedOutcomeKinds).toEqual([
      "applied",
      "fencing-mismatch",
      "key-expired",
      "fingerprint-mismatch",
    ]);
  });

  it("has one frozen outcome per kind whose JSON form is just its kind", () => {
    expect(Object.keys(fencedOutcome).sort()).toEqual([...fencedOutcomeKinds].sort());
    for (const kind of fencedOutcomeKinds) {
      const outcome = fencedOutcome[kind];
      expect(outcome).toEqual({ kind });
      expect(JSON.stringify(outcome)).toBe(`{"kind":"${kind}"}`);
      expect(Object.isFrozen(outcome)).toBe(true);
    }
  });
});
