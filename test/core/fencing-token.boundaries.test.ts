// Tokens at the edges of their two representations (a number up to 2^53, a bigint beyond):
// written from StrykerJS's surviving mutants of fencing-token.ts (test/mutation-report.md).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FencingToken } from "../../src/core/fencing-token.ts";

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
const maxToken = 2n ** 64n - 1n;

describe("FencingToken at its boundaries", () => {
  it("accepts 0 and 2^64 - 1, the ends of its range", () => {
    expect(FencingToken.from(0).value).toBe(0n);
    expect(FencingToken.from(0n).toString()).toBe("0");
    expect(FencingToken.from(maxToken).toString()).toBe(maxToken.toString());
    expect(FencingToken.fromJSON(maxToken.toString()).value).toBe(maxToken);
  });

  it("is one token whether made from a number, a bigint or its digits, up to 2^53 and beyond", () => {
    for (const value of [0n, 5n, maxSafe - 1n, maxSafe]) {
      const fromNumber = FencingToken.from(Number(value));
      for (const other of [FencingToken.from(value), FencingToken.fromJSON(value.toString())]) {
        expect(other.equals(fromNumber), String(value)).toBe(true);
        expect(fromNumber.equals(other), String(value)).toBe(true);
      }
    }
    const large = FencingToken.from(maxSafe + 1n);
    expect(large.equals(FencingToken.fromJSON((maxSafe + 1n).toString()))).toBe(true);
    expect(large.equals(FencingToken.from(maxSafe + 2n))).toBe(false);
    expect(large.equals(FencingToken.from(maxToken))).toBe(false);
    expect(large.equals(FencingToken.from(1))).toBe(false);
  });

  it("orders tokens on both sides of 2^53 as their values", () => {
    const values = [
      0n,
      1n,
      5n,
      maxSafe - 1n,
      maxSafe,
      maxSafe + 1n,
      maxSafe + 2n,
      2n ** 63n,
      maxToken,
    ];
    for (const a of values) {
      for (const b of values) {
        expect(FencingToken.from(a).isNewerThan(FencingToken.from(b)), `${a} > ${b}`).toBe(a > b);
      }
    }
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: maxToken }),
        fc.bigInt({ min: 0n, max: maxToken }),
        (a, b) => {
          expect(FencingToken.from(a).isNewerThan(FencingToken.from(b))).toBe(a > b);
          expect(FencingToken.from(a).equals(FencingToken.from(b))).toBe(a === b);
        },
      ),
    );
  });

  it("says what a valid token is when it refuses one", () => {
    expect(() => FencingToken.from(-1)).toThrow(/unsigned 64-bit integer/);
    expect(() => FencingToken.fromJSON("-1")).toThrow(/unsigned 64-bit integer/);
  });
});
