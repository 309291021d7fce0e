// The record's headers are written and read without JSON.stringify / JSON.parse when they are
// plain ASCII; the text and the value must be exactly theirs, whatever the headers or the bytes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HeaderPairs } from "../../src/core/cached-response.ts";
import { decodeHeaders, encodeHeaders } from "../../src/stores/valkey/headers-json.ts";

const plainString = fc.string({
  unit: fc.constantFrom(..."az-AZ09 !#~/;=,.:\t\"\\]['{}".split("")),
  maxLength: 12,
});
const anyString = fc.oneof(plainString, fc.string({ unit: "binary", maxLength: 12 }));
const headers = fc.array(fc.tuple(anyString, anyString), { maxLength: 5 });

/** What JSON.parse makes of the text, or the error's class. */
function parseOutcome(text: string): unknown {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { threw: (error as Error).name };
  }
}

function decodeOutcome(bytes: Buffer, start = 0, end = bytes.length): unknown {
  try {
    return { value: decodeHeaders(bytes, start, end) };
  } catch (error) {
    return { threw: (error as Error).name };
  }
}

describe("encodeHeaders", () => {
  it("writes exactly what JSON.stringify writes", () => {
    fc.assert(
      fc.property(headers, (pairs) => {
        expect(encodeHeaders(pairs)).toBe(JSON.stringify(pairs));
      }),
      { numRuns: 2000 },
    );
    const odd = [["a", 1], ["b"], "c"] as unknown as HeaderPairs;
    expect(encodeHeaders(odd)).toBe(JSON.stringify(odd));
    expect(encodeHeaders([])).toBe("[]");
  });
});

describe("decodeHeaders", () => {
  it("reads exactly what JSON.parse reads from the text encodeHeaders writes", () => {
    fc.assert(
      fc.property(headers, (pairs) => {
        const text = encodeHeaders(pairs);
        expect(decodeHeaders(Buffer.from(text), 0, Buffer.byteLength(text))).toEqual(
          JSON.parse(text),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with JSON.parse on damaged and unusual text, throwing where it throws", () => {
    const pieces = fc.constantFrom('["', '","', '"]', "[", "]", ",", '"', "a", " ", "\\", "é", "1");
    const texts = fc.oneof(
      fc.array(pieces, { maxLength: 12 }).map((parts) => parts.join("")),
      headers.chain((pairs) => {
        const text = JSON.stringify(pairs);
        return fc
          .tuple(fc.nat(text.length), fc.nat(3), fc.string({ maxLength: 2 }))
          .map(([at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut));
      }),
    );
    fc.assert(
      fc.property(texts, (text) => {
        // The reference is what the store did before: JSON.parse of the bytes read as UTF-8.
        const bytes = Buffer.from(text);
        expect(decodeOutcome(bytes)).toEqual(parseOutcome(bytes.toString("utf8")));
      }),
      { numRuns: 5000 },
    );
  });

  it("reads only its part of the record: not the bytes around it", () => {
    const text = '[["vary","accept"]]';
    const record = Buffer.from(`xx${text}"],["more","bytes"]]`);
    expect(decodeHeaders(record, 2, 2 + text.length)).toEqual([["vary", "accept"]]);
    // Cut short inside the value: the bytes after the end are not read as its rest.
    expect(decodeOutcome(record, 2, 2 + text.length - 4)).toEqual({ threw: "SyntaxError" });
    expect(decodeOutcome(Buffer.from("[]x"), 0, 2)).toEqual({ value: [] });
    expect(decodeOutcome(Buffer.from("[]x"), 0, 3)).toEqual({ threw: "SyntaxError" });
  });
});
