import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../src/errors/invalid-key-error.ts";
import { IdempotencyKey, maxKeyBytes } from "../../src/core/idempotency-key.ts";

const reasonOf = (value: unknown): string | undefined => {
  try {
    IdempotencyKey.parse(value);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidKeyError);
    return (error as InvalidKeyError).reason;
  }
};

describe("IdempotencyKey", () => {
  it("accepts 1 to 255 UTF-8 bytes", () => {
    expect(IdempotencyKey.parse("a").value).toBe("a");
    expect(IdempotencyKey.parse("x".repeat(maxKeyBytes)).value).toHaveLength(255);
    expect(IdempotencyKey.parse("é".repeat(127)).value).toHaveLength(127); // 254 bytes
  });

  it("gives a typed error per rule", () => {
    expect(reasonOf("")).toBe("empty");
    expect(reasonOf("x".repeat(256))).toBe("too-long");
    expect(reasonOf("é".repeat(128))).toBe("too-long"); // 128 characters, 256 bytes
    expect(reasonOf("a\nb")).toBe("control-character");
    expect(reasonOf("a\u0085b")).toBe("control-character");
    expect(reasonOf("a\u007fb")).toBe("control-character");
    expect(reasonOf("\ud800")).toBe("control-character");
    expect(reasonOf("a:b")).toBe("reserved-character");
    expect(reasonOf("a/b")).toBe("reserved-character");
    expect(reasonOf(42)).toBe("not-a-string");
    expect(reasonOf(undefined)).toBe("not-a-string");
  });

  it("generates UUID v4 keys", () => {
    const key = IdempotencyKey.random();
    expect(key.value).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(key.equals(IdempotencyKey.random())).toBe(false);
  });

  it("derives scoped keys for steps and round-trips them through JSON", () => {
    const key = IdempotencyKey.parse("order-7");
    const step = key.scoped("charge").scoped("retry");
    expect(step.value).toBe("order-7/charge/retry");
    expect(IdempotencyKey.fromJSON(JSON.parse(JSON.stringify(step))).equals(step)).toBe(true);
    expect(() => key.scoped("a/b")).toThrow(InvalidKeyError);
    expect(() => IdempotencyKey.parse("x".repeat(250)).scoped("123456")).toThrow(InvalidKeyError);
    expect(() => IdempotencyKey.fromJSON("a//b")).toThrow(InvalidKeyError);
  });

  it("never throws anything but InvalidKeyError, and accepts exactly the valid keys", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.anything()), (value) => {
        let key: IdempotencyKey | undefined;
        try {
          key = IdempotencyKey.parse(value);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidKeyError);
          return;
        }
        const text = key.value;
        expect(typeof value).toBe("string");
        expect(Buffer.byteLength(text)).toBeGreaterThan(0);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxKeyBytes);
        // eslint-disable-next-line no-control-regex -- control characters are what is tested
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f:/]/);
        expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text); // no lone surrogates
      }),
      { numRuns: 2000 },
    );
  });
});
