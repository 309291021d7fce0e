import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DefaultFingerprintStrategy } from "../../src/core/default-fingerprint-strategy.ts";
import { fingerprintInput } from "../../src/core/fingerprint-strategy.ts";
import { Sha256FingerprintStrategy } from "../../src/core/sha256-fingerprint-strategy.ts";
import { xxh3Backend } from "../../src/core/xxh3-backend.ts";
import { xxh3128Hex } from "../../src/core/xxh3-128.ts";
import { bodyOf, describeBody, loadXxhVectors } from "../vectors/xxh3-128.ts";

const vectors = loadXxhVectors();
const xxhsum = findXxhsum();

/** `xxhsum` on the PATH (the pretest hook installs it), or undefined. */
function findXxhsum(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v xxhsum"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function referenceDigest(input: Uint8Array): string {
  if (xxhsum === undefined) throw new Error("xxhsum is missing: apt-get install xxhash");
  const result = spawnSync(xxhsum, ["-H2", "-"], { input, maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`xxhsum failed: ${result.stderr.toString()}`);
  return result.stdout.toString().split(" ")[0] ?? "";
}

// Without xxhsum the committed vectors still check every digest; CI must have it.
const withLiveXxhsum = xxhsum === undefined && process.env["CI"] !== "true" ? it.skip : it;

describe("DefaultFingerprintStrategy", () => {
  it.each(vectors.fingerprints.map((vector) => [describeBody(vector.body), vector] as const))(
    "matches the committed xxhsum -H2 vector for %s",
    (_, { operation, body, xxh128 }) => {
      expect(DefaultFingerprintStrategy.compute(operation, bodyOf(body)).hex).toBe(xxh128);
      if ("text" in body) {
        expect(DefaultFingerprintStrategy.compute(operation, body.text).hex).toBe(xxh128);
      }
    },
  );

  withLiveXxhsum("agrees with the committed vectors when checked by a live xxhsum -H2", () => {
    for (const { operation, body, xxh128 } of vectors.fingerprints) {
      expect(referenceDigest(fingerprintInput(operation, bodyOf(body)))).toBe(xxh128);
    }
  });

  withLiveXxhsum("matches a live xxhsum -H2 on random operations and bodies", () => {
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

  it("hashes large bodies beyond its reused buffer, then a short one", () => {
    const large = vectors.fingerprints.find(
      (vector) => "pattern" in vector.body && vector.body.pattern.length > 1024 * 1024,
    );
    if (large === undefined) throw new Error("no vector over 1 MiB");
    expect(DefaultFingerprintStrategy.compute(large.operation, bodyOf(large.body)).hex).toBe(
      large.xxh128,
    );
    // The reused buffer must not leak state into the next, shorter input.
    const empty = vectors.fingerprints.find(
      (vector) => vector.operation === "" && "text" in vector.body && vector.body.text === "",
    );
    expect(DefaultFingerprintStrategy.compute("", "").hex).toBe(empty?.xxh128);
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

describe("XXH3-128 backends", () => {
  it("uses the native addon unless it cannot load (NAPI_RS_NATIVE_LIBRARY_PATH=/nonexistent)", () => {
    const unloadable = process.env["NAPI_RS_NATIVE_LIBRARY_PATH"] !== undefined;
    expect(xxh3Backend).toBe(unloadable ? "portable" : "native");
  });

  it.each(vectors.raw.map((vector) => [describeBody(vector.body), vector] as const))(
    "portable: matches the committed xxhsum -H2 vector for %s",
    (_, { body, xxh128 }) => {
      expect(xxh3128Hex(bodyOf(body))).toBe(xxh128);
    },
  );

  it("portable: matches the committed fingerprint vectors", () => {
    for (const { operation, body, xxh128 } of vectors.fingerprints) {
      expect(xxh3128Hex(fingerprintInput(operation, bodyOf(body)))).toBe(xxh128);
    }
  });

  it("portable: hashes views into larger buffers at any offset", () => {
    const backing = new Uint8Array(5000).map((_, index) => (index * 13 + 1) % 256);
    for (const { body, xxh128 } of vectors.raw.filter((vector) => "hex" in vector.body)) {
      const bytes = bodyOf(body);
      const offset = (bytes.byteLength % 7) + 1;
      const view = new Uint8Array(backing.buffer, offset, bytes.byteLength);
      view.set(bytes);
      expect(xxh3128Hex(view)).toBe(xxh128);
    }
  });

  withLiveXxhsum("portable: matches a live xxhsum -H2 on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (input) => {
        expect(xxh3128Hex(input)).toBe(referenceDigest(input));
      }),
      { numRuns: 100 },
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
