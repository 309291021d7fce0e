// Bodies between the reused buffer's first size (4 KiB) and its ceiling (1 MiB): the buffer must
// grow to hold each input whole. Written from StrykerJS's surviving mutants of
// default-fingerprint-strategy.ts (test/mutation-report.md). The buffer lives in the module, so
// the sizes below grow in order, each past twice the one before, in this file's only test.
import { describe, expect, it } from "vitest";
import { DefaultFingerprintStrategy } from "../../src/core/default-fingerprint-strategy.ts";
import { fingerprintInput } from "../../src/core/fingerprint-strategy.ts";
import { xxh3128Hex } from "../../src/core/xxh3-128.ts";

const reference = (operation: string, body: string | Uint8Array): string =>
  xxh3128Hex(fingerprintInput(operation, body));

describe("DefaultFingerprintStrategy's reused buffer", () => {
  it("hashes each body whole as the buffer grows from 4 KiB towards 1 MiB", () => {
    const bodies: (string | Uint8Array)[] = [
      "é".repeat(2_000), // 4 000 bytes, 6 000 reserved for the encoding: the first growth
      new Uint8Array(5_000).map((_, index) => index % 251),
      "a".repeat(30_000), // reserves 90 000 bytes
      new Uint8Array(400_000).map((_, index) => index % 253),
      new Uint8Array(1_000_000).fill(7), // just under the ceiling
      "z", // a short input after long ones
    ];
    for (const body of bodies) {
      expect(DefaultFingerprintStrategy.compute("POST /orders", body).hex).toBe(
        reference("POST /orders", body),
      );
    }
  });
});
