// Carries at exactly 2^32 in the long-input accumulator: the 64-bit lanes are kept as 32-bit
// halves, and a low-half sum of exactly 2^32 must carry into the high half. A random input meets
// that once in 2^32 additions, so this one is built for it: in the first stripe, lane 0's data
// brings acc[1]'s low half (PRIME64_1's, 0x85ebca87) to 2^32, and lane 2's data xored with the
// secret gives the key 0x1_d82b14b1, whose halves' product brings acc[2]'s low half (PRIME64_2's,
// 0x27d4eb4f) to 2^32. Written from StrykerJS's surviving mutants of xxh3-128.ts
// (test/mutation-report.md); the digest is `xxhsum -H2`'s and the native addon's.
import { describe, expect, it } from "vitest";
import { xxh3128Hex } from "../../src/core/xxh3-128.ts";

describe("xxh3128Hex's 32-bit carries", () => {
  it("carries a low-half sum of exactly 2^32 in both accumulator additions", () => {
    const input = new Uint8Array(256);
    input.set(Buffer.from("7935147a0000000000000000000000006fc04631829097db", "hex"));
    expect(xxh3128Hex(input)).toBe("cd851c1121fc1d1974b04dd5dcd91c86");
  });
});
