import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import {
  defaultLeaseTtlMs,
  defaultRetentionTtlMs,
  leaseOf,
  maxTtlMs,
  resolveStoreTtls,
  retentionOf,
  validateTtlMs,
} from "../../src/core/ttl.ts";
import { thrown } from "./thrown.ts";

/** The error `make` throws, checked to be an InvalidArgumentError. */
describe("TTLs", () => {
  it("has the documented defaults and ceiling: 30 s lease, 24 h retention, 2^31 - 1 ms", () => {
    expect(defaultLeaseTtlMs).toBe(30_000);
    expect(defaultRetentionTtlMs).toBe(24 * 60 * 60 * 1000);
    expect(maxTtlMs).toBe(2_147_483_647);
  });

  it("accepts whole milliseconds from 1 to the ceiling, both ends included", () => {
    expect(validateTtlMs(1)).toBe(1);
    expect(validateTtlMs(maxTtlMs)).toBe(maxTtlMs);
    expect(validateTtlMs(30_000, "leaseTtlMs")).toBe(30_000);
  });

  it("refuses anything else with the argument's name, the range and the value", () => {
    for (const bad of [0, -1, maxTtlMs + 1, 1.5, Number.NaN, Infinity, "100", 100n, null]) {
      const error = thrown(InvalidArgumentError, () => validateTtlMs(bad));
      expect(error.code).toBe("ERR_IDEMPOTENT_INVALID_ARGUMENT");
      expect(error.argument).toBe("ttlMs");
      expect(error.message).toBe(
        `ttlMs: expected a whole number of milliseconds from 1 to 2147483647, got ${String(bad)}`,
      );
    }
    expect(thrown(InvalidArgumentError, () => validateTtlMs(0, "retentionTtlMs")).argument).toBe(
      "retentionTtlMs",
    );
  });

  it("resolves a store's defaults, frozen, filling in the library's own", () => {
    const defaults = resolveStoreTtls();
    expect(defaults).toEqual({ leaseTtlMs: 30_000, retentionTtlMs: 86_400_000 });
    expect(Object.isFrozen(defaults)).toBe(true);
    expect(resolveStoreTtls({})).toEqual(defaults);
    expect(resolveStoreTtls({ leaseTtlMs: 5, retentionTtlMs: 7 })).toEqual({
      leaseTtlMs: 5,
      retentionTtlMs: 7,
    });
    expect(resolveStoreTtls({ leaseTtlMs: undefined, retentionTtlMs: 7 }).leaseTtlMs).toBe(30_000);
    expect(thrown(InvalidArgumentError, () => resolveStoreTtls({ leaseTtlMs: 0 })).argument).toBe(
      "leaseTtlMs",
    );
    expect(
      thrown(InvalidArgumentError, () => resolveStoreTtls({ retentionTtlMs: 0 })).argument,
    ).toBe("retentionTtlMs");
  });

  it("takes a call's own lease and retention over the store's, and checks them", () => {
    const defaults = resolveStoreTtls({ leaseTtlMs: 10, retentionTtlMs: 20 });
    expect(leaseOf(undefined, defaults)).toBe(10);
    expect(leaseOf({}, defaults)).toBe(10);
    expect(leaseOf({ leaseTtlMs: undefined }, defaults)).toBe(10);
    expect(leaseOf({ leaseTtlMs: 3 }, defaults)).toBe(3);
    expect(retentionOf(undefined, defaults)).toBe(20);
    expect(retentionOf({}, defaults)).toBe(20);
    expect(retentionOf({ retentionTtlMs: 4 }, defaults)).toBe(4);
    expect(
      thrown(InvalidArgumentError, () => leaseOf({ leaseTtlMs: 0 }, defaults)).message,
    ).toMatch(/^leaseTtlMs: /);
    expect(
      thrown(InvalidArgumentError, () => retentionOf({ retentionTtlMs: 1.5 }, defaults)).message,
    ).toMatch(/^retentionTtlMs: .* got 1\.5$/);
  });
});
