import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";

describe("Fingerprint", () => {
  it("round-trips bytes, hex and JSON", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const fingerprint = Fingerprint.fromBytes(bytes);
        expect([...fingerprint.toBytes()]).toEqual([...bytes]);
        expect(
          Fingerprint.fromJSON(JSON.parse(JSON.stringify(fingerprint))).equals(fingerprint),
        ).toBe(true);
      }),
    );
    expect(Fingerprint.fromHex("AB".repeat(16)).hex).toBe("ab".repeat(16));
  });

  it("refuses a caller's bad digest with InvalidArgumentError naming the argument", () => {
    const argumentOf = (make: () => unknown): string => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        return (error as InvalidArgumentError).argument;
      }
      throw new Error("expected a throw");
    };
    for (const bad of [new Uint8Array(15), new Uint8Array(17), "0".repeat(16), null]) {
      expect(argumentOf(() => Fingerprint.fromBytes(bad as never))).toBe("bytes");
    }
    for (const bad of [-1n, 2n ** 128n, 5, "5", null]) {
      expect(argumentOf(() => Fingerprint.fromBigInt(bad as never))).toBe("value");
    }
    expect(Fingerprint.fromBigInt(2n ** 128n - 1n).hex).toBe("f".repeat(32));
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withTypedArray: true }), (value) => {
        for (const make of [
          () => Fingerprint.fromBytes(value as never),
          () => Fingerprint.fromBigInt(value as never),
        ]) {
          try {
            make();
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidArgumentError);
          }
        }
      }),
    );
  });

  it("refuses a bad stored form with MalformedRecordError only", () => {
    for (const bad of ["", "g".repeat(32), "a".repeat(31), 5, null]) {
      expect(() => Fingerprint.fromHex(bad)).toThrow(MalformedRecordError);
      expect(() => Fingerprint.fromJSON(bad)).toThrow(MalformedRecordError);
    }
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        try {
          Fingerprint.fromJSON(value);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedRecordError);
        }
      }),
    );
  });
});

describe("Fingerprint at its boundaries", () => {
  it("takes 0 and 2^128 - 1 as bigints, and says what it refused", () => {
    expect(Fingerprint.fromBigInt(0n).hex).toBe("0".repeat(32));
    expect(Fingerprint.fromBigInt(1n).hex).toBe(`${"0".repeat(31)}1`);
    expect(() => Fingerprint.fromBigInt(-1n)).toThrow(
      "value: expected an unsigned 128-bit integer (a bigint)",
    );
    expect(() => Fingerprint.fromBytes(new Uint8Array(15))).toThrow(
      "bytes: expected a Uint8Array of 16 bytes, got 15 bytes",
    );
    expect(() => Fingerprint.fromBytes("x".repeat(16) as never)).toThrow(
      "bytes: expected a Uint8Array of 16 bytes, got string",
    );
  });

  it("reads exactly 32 hex digits, nothing before or after them", () => {
    const hex = "0123456789abcdef".repeat(2);
    expect(Fingerprint.fromHex(hex).toString()).toBe(hex);
    expect(String(Fingerprint.fromHex(hex))).toBe(hex);
    for (const bad of [`z${hex}`, `${hex}z`, `0${hex}`, hex.slice(1), `${hex}\n`]) {
      try {
        Fingerprint.fromHex(bad);
        throw new Error("expected a throw");
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedRecordError);
        expect((error as MalformedRecordError).path).toBe("fingerprint");
        expect((error as MalformedRecordError).message).toBe(
          "fingerprint: expected 32 hexadecimal digits",
        );
      }
    }
  });
});
