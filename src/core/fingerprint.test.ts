import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { Fingerprint } from "./fingerprint.ts";

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

  it("refuses anything else with MalformedRecordError", () => {
    expect(() => Fingerprint.fromBytes(new Uint8Array(15))).toThrow(MalformedRecordError);
    for (const bad of ["", "g".repeat(32), "a".repeat(31), 5, null]) {
      expect(() => Fingerprint.fromHex(bad)).toThrow(MalformedRecordError);
    }
  });
});
