import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalJsonOfParsed } from "../../src/utils/canonical-json.ts";

// Keys that sort differently as strings and as array indices, and the one a copy drops.
const key = fc.oneof(
  fc.constantFrom("a", "b", "B", "10", "2", "0", "01", "-1", "", "__proto__", "toJSON", "é"),
  fc.string({ maxLength: 3 }),
);
const json = fc.letrec((tie) => ({
  value: fc
    .oneof(
      { depthSize: "small" },
      fc.constantFrom(null, true, false, 0, -0, 1.5, 1e21, "x", "\u2028"),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie("value")), { maxLength: 5 }).map((pairs) => {
        const members = pairs.map(([name, value]) => `${JSON.stringify(name)}:${String(value)}`);
        return `{${members.join(",")}}`;
      }),
    )
    .map((value) =>
      typeof value === "string" && value.startsWith("{") ? value : JSON.stringify(value),
    ),
}));

describe("canonicalJsonOfParsed", () => {
  it("writes what canonicalJson writes for any parsed JSON, sorted or not", () => {
    fc.assert(
      fc.property(json.value, (text) => {
        const parsed: unknown = JSON.parse(text);
        expect(canonicalJsonOfParsed(parsed)).toBe(canonicalJson(parsed));
      }),
      { numRuns: 2000 },
    );
  });

  it("sorts keys at every level and drops a __proto__ key, as canonicalJson does", () => {
    expect(canonicalJsonOfParsed(JSON.parse('{"b":1,"a":[{"d":2,"c":3}]}'))).toBe(
      '{"a":[{"c":3,"d":2}],"b":1}',
    );
    expect(canonicalJsonOfParsed(JSON.parse('{"__proto__":{"x":1},"a":1}'))).toBe('{"a":1}');
    expect(canonicalJsonOfParsed(JSON.parse('{"2":1,"10":2}'))).toBe('{"2":1,"10":2}');
  });
});
