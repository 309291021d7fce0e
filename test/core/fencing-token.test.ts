import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";

describe("FencingToken", () => {
  it("keeps values beyond 2^53 exact through JSON", () => {
    const token = FencingToken.from(2n ** 63n + 12345n);
    const json = JSON.stringify({ token });
    expect(json).toBe('{"token":"9223372036854788153"}');
    expect(
      FencingToken.fromJSON((JSON.parse(json) as { token: unknown }).token).equals(token),
    ).toBe(true);
  });

  it("orders tokens", () => {
    expect(FencingToken.from(2).isNewerThan(FencingToken.from(1))).toBe(true);
    expect(FencingToken.from("1").isNewerThan(FencingToken.from(1n))).toBe(false);
  });

  it("refuses a caller's bad value with InvalidArgumentError only", () => {
    for (const bad of [
      -1,
      -1n,
      1.5,
      Number.MAX_SAFE_INTEGER + 1,
      NaN,
      "-1",
      "01",
      "1e3",
      "abc",
      "",
      "99999999999999999999", // 20 digits, beyond 2^64 - 1
      2n ** 64n,
      null,
      {},
    ]) {
      let thrown: unknown;
      try {
        FencingToken.from(bad as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, typeof bad).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).argument).toBe("value");
    }
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        try {
          FencingToken.from(value as never);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
      }),
    );
  });

  it("refuses a bad stored form with MalformedRecordError only", () => {
    for (const bad of ["abc", "-1", "01", "", "99999999999999999999", 1, 1n, null]) {
      let thrown: unknown;
      try {
        FencingToken.fromJSON(bad);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, String(bad)).toBeInstanceOf(MalformedRecordError);
      expect((thrown as MalformedRecordError).path).toBe("fencingToken");
    }
    // The same text: a caller's mistake through from, corrupt data through fromJSON.
    expect(() => FencingToken.from("abc")).toThrow(InvalidArgumentError);
    expect(() => FencingToken.fromJSON("abc")).toThrow(MalformedRecordError);
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        try {
          FencingToken.fromJSON(value);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedRecordError);
        }
      }),
    );
  });

  it("round-trips every u64", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (value) => {
        expect(FencingToken.fromJSON(FencingToken.from(value).toJSON()).value).toBe(value);
      }),
    );
  });
});
