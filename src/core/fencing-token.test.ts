import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { FencingToken } from "./fencing-token.ts";

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

  it("rejects anything that is not an unsigned 64-bit integer with a typed error", () => {
    for (const bad of [
      -1,
      1.5,
      Number.MAX_SAFE_INTEGER + 1,
      NaN,
      "-1",
      "01",
      "1e3",
      "",
      2n ** 64n,
    ]) {
      expect(() => FencingToken.from(bad as never)).toThrow(MalformedRecordError);
    }
    fc.assert(
      fc.property(fc.anything(), (value) => {
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
