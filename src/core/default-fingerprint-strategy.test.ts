import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DefaultFingerprintStrategy } from "./default-fingerprint-strategy.ts";
import { fingerprintInput, type FingerprintBody } from "./fingerprint-strategy.ts";
import { Sha256FingerprintStrategy } from "./sha256-fingerprint-strategy.ts";

const bytes = (length: number, step: number, offset = 0) =>
  new Uint8Array(length).map((_, index) => (index * step + offset) % 256);

// Expected digests printed by `xxhsum -H2 -` (Debian's xxhash 0.8) for fingerprintInput(...).
const vectors: [name: string, operation: string, body: FingerprintBody, xxhsum: string][] = [
  ["empty operation and body", "", "", "2c0a8a99dc147d5445c3b49d035665b2"],
  ["short", "POST /credentials/issue", "VerifiableCredential", "3d4a717d101107ead6b1cf66aa8460b9"],
  ["multi-byte operation", "POST /commandes/élan-🚀", "{}", "1101f1efcd3d011b659e36bd0a4c9be9"],
  ["binary body", "PUT /blobs", bytes(256, 1), "754ce3e868aeb6698c9f17b1c89d0781"],
  [
    "241-byte body (long-input path)",
    "POST /a",
    bytes(241, 13),
    "09aed48a2dafb38b4462513b77b988b8",
  ],
  [
    "1 KiB body",
    "POST /orders",
    new Uint8Array(1024).map((_, index) => (index * 7) % 251),
    "13486a85d2b7a439b8b3d42f06298b4e",
  ],
  ["64 KiB body", "POST /orders", bytes(65536, 31, 5), "8133c60e89a2ce970f1288e43d8e8167"],
];

const xxhsum = "/usr/bin/xxhsum";

function referenceDigest(input: Uint8Array): string {
  const result = spawnSync(xxhsum, ["-H2", "-"], { input });
  if (result.status !== 0) throw new Error(`xxhsum failed: ${result.stderr.toString()}`);
  return result.stdout.toString().split(" ")[0] ?? "";
}

describe("DefaultFingerprintStrategy", () => {
  it.each(vectors)("matches xxhsum -H2 for %s", (_, operation, body, expected) => {
    expect(DefaultFingerprintStrategy.compute(operation, body).hex).toBe(expected);
  });

  it("matches a live xxhsum -H2 on random operations and bodies", () => {
    // The reference comes from Debian's xxhash package, which .ci/run installs.
    if (!existsSync(xxhsum)) throw new Error(`${xxhsum} is missing: apt-get install xxhash`);
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 3000 })),
        (operation, body) => {
          const expected = referenceDigest(fingerprintInput(operation, body));
          expect(DefaultFingerprintStrategy.compute(operation, body).hex).toBe(expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("hashes large bodies beyond its reused buffer", () => {
    const body = bytes(3 * 1024 * 1024, 17, 3);
    const expected = referenceDigest(fingerprintInput("POST /uploads", body));
    expect(DefaultFingerprintStrategy.compute("POST /uploads", body).hex).toBe(expected);
    // The reused buffer must not leak state into the next, shorter input.
    expect(DefaultFingerprintStrategy.compute("", "").hex).toBe(vectors[0]?.[3]);
  });

  it("keeps operation and body apart by the length prefix", () => {
    const joined = DefaultFingerprintStrategy.compute("GET/ab", "");
    const split = DefaultFingerprintStrategy.compute("GET", "/ab");
    expect(joined.equals(split)).toBe(false);
  });

  it("gives a string body and its UTF-8 bytes the same fingerprint", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        const fromString = DefaultFingerprintStrategy.compute("POST /x", text);
        const fromBytes = DefaultFingerprintStrategy.compute(
          "POST /x",
          new TextEncoder().encode(text),
        );
        expect(fromString.equals(fromBytes)).toBe(true);
      }),
    );
  });
});

describe("Sha256FingerprintStrategy", () => {
  it("is the first 16 bytes of SHA-256 over the same input", () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 500 }), (operation, body) => {
        const input = Buffer.concat([
          Buffer.from(new BigUint64Array([BigInt(Buffer.byteLength(operation))]).buffer),
          Buffer.from(operation),
          body,
        ]);
        const expected = createHash("sha256").update(input).digest("hex").slice(0, 32);
        expect(Sha256FingerprintStrategy.compute(operation, body).hex).toBe(expected);
      }),
    );
    expect(
      Sha256FingerprintStrategy.compute("GET/ab", "").equals(
        Sha256FingerprintStrategy.compute("GET", "/ab"),
      ),
    ).toBe(false);
  });
});
