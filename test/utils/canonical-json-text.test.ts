import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/utils/canonical-json.ts";
import { canonicalJsonText, canonicalNumber } from "../../src/utils/canonical-json-text.ts";

/** JSON texts as clients write them: any key order, optional whitespace. */
const jsonText = fc.oneof(
  fc.json(),
  fc.jsonValue().map((value) => JSON.stringify(value, null, 2)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
);

describe("canonicalJsonText", () => {
  it("is canonicalJson(JSON.parse(text)) for any text JSON.stringify can write", () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(canonicalJsonText(text)).toBe(canonicalJson(JSON.parse(text)));
        expect(canonicalJsonText(text, JSON.parse(text))).toBe(canonicalJson(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it("reads the same text the same way on its exact path (forced by an exponent)", () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        // `1e300` is a double as written, so both sides must agree on all but the path.
        expect(canonicalJsonText(`[${text},1e300]`)).toBe(
          `[${canonicalJson(JSON.parse(text))},1e+300]`,
        );
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['{"to":9007199254740993}', '{"to":9007199254740992}'],
    ['{"amount":100.00000000000000001}', '{"amount":100}'],
    ["[12345678901234567890]", "[12345678901234567000]"],
    ["[1e400]", "[null]"],
    ["[-1e400]", "[1e400]"],
    ["[1e-400]", "[0]"],
    ['{"__proto__":1,"a":2}', '{"a":2}'],
    ['{"\\u005f_proto__":1,"a":2}', '{"a":2}'],
    ['{"a":0.1000000000000000055511151231257827}', '{"a":0.1}'],
  ])("tells %s from %s, which JSON.parse reads as one value", (one, other) => {
    expect(canonicalJsonText(one)).not.toBe(canonicalJsonText(other));
  });

  it.each([
    [
      '{ "b" : 1.50 , "a" : [ 1E3, -0.0, 9007199254740993 ] }',
      '{"a":[1000,0,9007199254740993],"b":1.5}',
    ],
    ['{"b":1,"a":2,"b":3}', '{"a":2,"b":3}'],
    [
      '{"b":1,"10":2,"9":3,"a":4,"4294967295":5,"1e99":6}',
      '{"9":3,"10":2,"1e99":6,"4294967295":5,"a":4,"b":1}',
    ],
    ['{"__proto__":{"x":12345678901234567890}}', '{"__proto__":{"x":12345678901234567890}}'],
    ['"\\u00e9\\u2028\\ud800"', '"é\u2028\\ud800"'],
  ])("writes %s as %s", (text, canonical) => {
    expect(canonicalJsonText(text)).toBe(canonical);
  });

  it.each([
    "",
    "[1,]",
    "{,}",
    '{"a":1,}',
    "01",
    "1.",
    "-",
    "+1",
    ".5",
    "[1e]",
    "nul",
    "truex",
    '{"a" 1}',
    "{a:1}",
    '"\u0001"',
    '"\\x41"',
    "[1] [2]",
    "[1e5] x",
  ])("refuses %j with a SyntaxError", (text) => {
    expect(() => canonicalJsonText(text)).toThrow(SyntaxError);
    expect(() => canonicalJsonText(`[1e5,${text}]`)).toThrow(SyntaxError);
  });

  it("refuses nesting deeper than 512 levels on the exact path, and any depth that overflows", () => {
    const nested = (depth: number) => `${"[".repeat(depth)}1e5${"]".repeat(depth)}`;
    expect(canonicalJsonText(nested(511))).toBe(`${"[".repeat(511)}100000${"]".repeat(511)}`);
    expect(() => canonicalJsonText(nested(600))).toThrow(SyntaxError);
    const deep = `${"[".repeat(500_000)}${"]".repeat(500_000)}`;
    expect(() => canonicalJsonText(deep)).toThrow(SyntaxError);
  });
});

describe("canonicalNumber", () => {
  it("writes a double's own text back unchanged", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(canonicalNumber(JSON.stringify(value))).toBe(JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes a literal of at most 15 significant digits as JavaScript writes its double", () => {
    const literal = fc
      .tuple(
        fc.boolean(),
        fc.stringMatching(/^[1-9]\d{0,14}$/),
        fc.integer({ min: 0, max: 20 }),
        // Within the range where 15 digits stay normal doubles.
        fc.integer({ min: 0, max: 280 }),
        fc.constantFrom("e", "E", "e+", "E-", "e-"),
      )
      .map(([negative, digits, point, exponent, marker]) => {
        const at = Math.min(point, digits.length);
        const mantissa =
          at === digits.length ? digits : `${digits.slice(0, at) || "0"}.${digits.slice(at)}`;
        return `${negative ? "-" : ""}${mantissa}${marker}${exponent}`;
      });
    fc.assert(
      fc.property(literal, (text) => {
        expect(canonicalNumber(text)).toBe(String(Number(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ["0", "0"],
    ["-0", "0"],
    ["0.000e10", "0"],
    ["1.50", "1.5"],
    ["1E3", "1000"],
    ["1e21", "1e+21"],
    ["123456789012345678901", "123456789012345678901"],
    ["0.000001", "0.000001"],
    ["0.0000001", "1e-7"],
    ["-12.5e-10", "-1.25e-9"],
    ["9007199254740993", "9007199254740993"],
    ["1e400", "1e+400"],
    ["10E399", "1e+400"],
    ["1e99999999999999999999", "1e+99999999999999999999"],
  ])("writes %s as %s", (literal, canonical) => {
    expect(canonicalNumber(literal)).toBe(canonical);
  });

  it("refuses what is not a JSON number", () => {
    expect(() => canonicalNumber("1.")).toThrow(SyntaxError);
  });
});
