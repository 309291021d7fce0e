import type { Fingerprint } from "./fingerprint.ts";
import type { FingerprintBody, FingerprintStrategy } from "./fingerprint-strategy.ts";
import { xxh3128 } from "./xxh3-backend.ts";

const encoder = new TextEncoder();
const maxCachedOperations = 1024;
/** Encoded `length prefix + operation` per operation: services use a handful of operations. */
const prefixes = new Map<string, Uint8Array>();
/** Reused input buffer, so hashing allocates nothing but the digest. */
let scratch = new Uint8Array(4096);

function prefixOf(operation: string): Uint8Array {
  let prefix = prefixes.get(operation);
  if (prefix === undefined) {
    const bytes = encoder.encode(operation);
    prefix = new Uint8Array(8 + bytes.byteLength);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(bytes.byteLength), true);
    prefix.set(bytes, 8);
    if (prefixes.size >= maxCachedOperations) prefixes.clear();
    prefixes.set(operation, prefix);
  }
  return prefix;
}

/** Largest input kept in the reused buffer; bigger ones get their own, freed after use. */
const maxScratchBytes = 1024 * 1024;

function inputBuffer(size: number): Uint8Array {
  if (size > maxScratchBytes) return new Uint8Array(size);
  if (scratch.byteLength < size) {
    scratch = new Uint8Array(Math.min(maxScratchBytes, Math.max(size, scratch.byteLength * 2)));
  }
  return scratch;
}

/**
 * XXH3-128 over the length-prefixed operation and the body (the bytes `fingerprintInput`
 * builds); equal to `xxhsum -H2` of those bytes. Fast, not cryptographic: see
 * `Sha256FingerprintStrategy` for callers who must resist crafted collisions. Computed by the
 * `@node-rs/xxhash` native addon where it loads, and by a portable JavaScript implementation
 * (same digests) elsewhere: Workers, Deno, browsers, bundles, platforms without a binary.
 *
 * @example
 * ```ts
 * const fingerprint = DefaultFingerprintStrategy.compute("POST /orders", '{"sku":42}');
 * fingerprint.hex; // 32 hex digits
 * ```
 */
export const DefaultFingerprintStrategy: FingerprintStrategy = {
  compute(operation: string, body: FingerprintBody): Fingerprint {
    const prefix = prefixOf(operation);
    let buffer: Uint8Array;
    let length: number;
    if (typeof body === "string") {
      // A UTF-16 code unit is at most 3 UTF-8 bytes.
      buffer = inputBuffer(prefix.byteLength + body.length * 3);
      buffer.set(prefix);
      length =
        prefix.byteLength + encoder.encodeInto(body, buffer.subarray(prefix.byteLength)).written;
    } else {
      buffer = inputBuffer(prefix.byteLength + body.byteLength);
      buffer.set(prefix);
      buffer.set(body, prefix.byteLength);
      length = prefix.byteLength + body.byteLength;
    }
    return xxh3128(buffer.subarray(0, length));
  },
};
