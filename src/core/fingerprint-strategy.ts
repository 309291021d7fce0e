import type { Fingerprint } from "./fingerprint.ts";

/**
 * A request body as fingerprinted: text (hashed as UTF-8) or raw bytes.
 *
 * @example
 * ```ts
 * const body: FingerprintBody = new TextEncoder().encode('{"amount":4200}');
 * DefaultFingerprintStrategy.compute("POST /payments", body);
 * ```
 */
export type FingerprintBody = string | Uint8Array;

/**
 * Turns a request (an operation name such as `POST /orders`, and a body) into a
 * {@link Fingerprint}. Implement it to hash with your own function or to canonicalize bodies
 * first (e.g. ignore JSON key order).
 *
 * @example
 * ```ts
 * const canonicalJson: FingerprintStrategy = {
 *   compute: (operation, body) =>
 *     DefaultFingerprintStrategy.compute(operation, canonicalize(JSON.parse(String(body)))),
 * };
 * ```
 */
export interface FingerprintStrategy {
  /** Digest of the operation and the body; equal inputs must give equal fingerprints. */
  compute(operation: string, body: FingerprintBody): Fingerprint;
}

const encoder = new TextEncoder();

/**
 * The bytes every built-in strategy hashes: the operation's UTF-8 length as u64 little-endian,
 * the operation's UTF-8 bytes, then the body. The length prefix keeps `("GET/ab", "")` and
 * `("GET", "/ab")` apart.
 *
 * @example
 * ```ts
 * const bytes = fingerprintInput("POST /orders", '{"sku":1}');
 * ```
 */
export function fingerprintInput(operation: string, body: FingerprintBody): Uint8Array {
  const operationBytes = encoder.encode(operation);
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : body;
  const input = new Uint8Array(8 + operationBytes.byteLength + bodyBytes.byteLength);
  new DataView(input.buffer).setBigUint64(0, BigInt(operationBytes.byteLength), true);
  input.set(operationBytes, 8);
  input.set(bodyBytes, 8 + operationBytes.byteLength);
  return input;
}
