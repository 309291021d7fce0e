// Writes test/vectors/xxh3-128.json: XXH3-128 digests printed by the reference `xxhsum -H2`
// (Debian's xxhash package) for raw inputs of every length class the algorithm branches on and
// for fingerprint inputs (length-prefixed operation + body). Run it with
// `npx tsx test/vectors/generate-xxh3-128.ts` after changing the inputs; the tests read the file,
// so they check digests without xxhsum, and check the file against a live xxhsum when present.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fingerprintInput } from "../../src/core/fingerprint-strategy.ts";
import { bodyOf, type VectorBody, type XxhVectors } from "./xxh3-128.ts";

function xxhsum(input: Uint8Array): string {
  const result = spawnSync("xxhsum", ["-H2", "-"], { input, maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`xxhsum failed: ${String(result.stderr)}`);
  return String(result.stdout).split(" ")[0] ?? "";
}

// A fixed xorshift32 sequence, so the file is the same on every run.
let state = 0x9e3779b9;
function random(length: number): VectorBody {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return { hex: Buffer.from(bytes).toString("hex") };
}

// XXH3 branches at 0, 1-3, 4-8, 9-16, 17-128, 129-240 and above (stripes of 64 bytes, blocks
// of 1,024 with the default secret); each boundary and its neighbours.
const rawLengths = [
  ...Array.from({ length: 34 }, (_, index) => index),
  47,
  48,
  63,
  64,
  65,
  79,
  80,
  95,
  96,
  111,
  112,
  127,
  128,
  129,
  130,
  143,
  144,
  159,
  160,
  161,
  175,
  176,
  191,
  192,
  207,
  208,
  223,
  224,
  239,
  240,
  241,
  242,
  255,
  256,
  257,
  319,
  320,
  321,
  383,
  384,
  511,
  512,
  513,
  1023,
  1024,
  1025,
  1087,
  1088,
  1089,
  2047,
  2048,
  2049,
  3071,
  3072,
  4095,
  4096,
];
const patterns: VectorBody[] = [
  { pattern: { length: 16_384, step: 3, offset: 1 } },
  { pattern: { length: 65_536, step: 31, offset: 5 } },
  { pattern: { length: 65_537, step: 7, offset: 0 } },
  { pattern: { length: 1_048_583, step: 11, offset: 9 } },
];

const raw = [...rawLengths.map(random), ...patterns].map((body) => ({
  body,
  xxh128: xxhsum(bodyOf(body)),
}));

const operations = ["", "POST /orders", "POST /commandes/élan-🚀", "PUT /blobs/{id}"];
const texts = ["", "{}", '{"sku":42}', "VerifiableCredential", "naïve café ☕ 日本語 𝄞"];
const fingerprintBodies: VectorBody[] = [
  ...texts.map((text) => ({ text })),
  ...[1, 7, 100, 232, 233, 500, 1016, 1017, 3000].map(random),
  { pattern: { length: 3 * 1024 * 1024, step: 17, offset: 3 } },
];
const fingerprints = operations.flatMap((operation, index) =>
  fingerprintBodies
    .filter((_, bodyIndex) => (bodyIndex + index) % 2 === 0 || bodyIndex < texts.length)
    .map((body) => ({
      operation,
      body,
      xxh128: xxhsum(fingerprintInput(operation, bodyOf(body))),
    })),
);

const vectors: XxhVectors = {
  source: "xxhsum -H2 (Debian xxhash 0.8.1); regenerate with test/vectors/generate-xxh3-128.ts",
  raw,
  fingerprints,
};
writeFileSync(new URL("xxh3-128.json", import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`${raw.length} raw and ${fingerprints.length} fingerprint vectors`);
