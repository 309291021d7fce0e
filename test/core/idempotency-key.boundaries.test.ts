// The edges of the key rules: the ends of the control-character ranges, surrogate pairs against
// lone surrogates, the 255-byte limit of scoped keys, and what each refusal says. Written from
// StrykerJS's surviving mutants of idempotency-key.ts (test/mutation-report.md).
import { describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../src/errors/invalid-key-error.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { thrown } from "./thrown.ts";

describe("IdempotencyKey at its boundaries", () => {
  it("accepts the characters just outside the control ranges", () => {
    for (const value of ["a b", "~", "a\u00a0b", "\u00ff", "\ue000", "\uffff"]) {
      expect(IdempotencyKey.parse(value).value).toBe(value);
    }
  });

  it("refuses the ends of the control ranges, naming the code point", () => {
    const cases: [string, string][] = [
      ["\u0000", "U+0000"],
      ["a\u001f", "U+001f"],
      ["\u007f", "U+007f"],
      ["b\u009f", "U+009f"],
    ];
    for (const [value, codePoint] of cases) {
      const error = thrown(InvalidKeyError, () => IdempotencyKey.parse(value));
      expect(error.code).toBe("ERR_IDEMPOTENT_INVALID_KEY");
      expect(error.reason).toBe("control-character");
      expect(error.message).toBe(`key contains the control character ${codePoint}`);
    }
  });

  it("accepts surrogate pairs and refuses lone or misordered surrogates", () => {
    for (const value of ["😀", "a😀b", "\ud800\udc00", "\udbff\udfff", "😀😀"]) {
      expect(IdempotencyKey.parse(value).value).toBe(value);
    }
    for (const value of [
      "\ud800",
      "a\udbff",
      "\udc00",
      "\udfff",
      "\ud800a",
      "\ud800\ud800",
      "\udbff\udbff",
      "\udc00\udc00",
      "\udc00\ud800",
      "\ud800\ue000",
      "😀\ude00",
    ]) {
      const error = thrown(InvalidKeyError, () => IdempotencyKey.parse(value));
      expect(error.reason).toBe("control-character");
      expect(error.message).toBe("key contains a lone surrogate");
    }
  });

  it("says what is wrong in words a log reader understands", () => {
    expect(thrown(InvalidKeyError, () => IdempotencyKey.parse(42)).message).toBe(
      "key must be a string, got number",
    );
    expect(thrown(InvalidKeyError, () => IdempotencyKey.parse("")).message).toBe("key is empty");
    expect(thrown(InvalidKeyError, () => IdempotencyKey.parse("x".repeat(256))).message).toBe(
      "key is longer than 255 UTF-8 bytes",
    );
    expect(thrown(InvalidKeyError, () => IdempotencyKey.parse("a:b")).message).toBe(
      'key contains ":", reserved as a separator',
    );
    expect(thrown(InvalidKeyError, () => IdempotencyKey.parse("a/b")).message).toBe(
      'key contains "/", reserved as a separator',
    );
  });

  it("checks a scope as a key segment and the scoped key's length, up to 255 bytes", () => {
    const root = IdempotencyKey.parse("x".repeat(250));
    expect(root.scoped("abcd").value).toHaveLength(255);
    const tooLong = thrown(InvalidKeyError, () => root.scoped("abcde"));
    expect(tooLong.reason).toBe("too-long");
    expect(tooLong.message).toBe("scoped key is longer than 255 UTF-8 bytes");
    expect(thrown(InvalidKeyError, () => root.scoped("")).message).toBe("scope is empty");
    expect(thrown(InvalidKeyError, () => root.scoped(7 as never)).message).toBe(
      "scope must be a string, got number",
    );
    expect(thrown(InvalidKeyError, () => root.scoped("a:b")).reason).toBe("reserved-character");
  });

  it("reads only strings from JSON, and prints as its value", () => {
    for (const json of [42, null, ["a"], { value: "a" }]) {
      expect(thrown(InvalidKeyError, () => IdempotencyKey.fromJSON(json)).reason).toBe(
        "not-a-string",
      );
    }
    const key = IdempotencyKey.parse("order-7").scoped("charge");
    expect(String(key)).toBe("order-7/charge");
    expect(JSON.stringify({ key })).toBe('{"key":"order-7/charge"}');
  });
});
