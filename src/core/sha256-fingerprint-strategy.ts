import { createHash } from "node:crypto";
import { Fingerprint } from "./fingerprint.ts";
import {
  fingerprintInput,
  type FingerprintBody,
  type FingerprintStrategy,
} from "./fingerprint-strategy.ts";

/**
 * SHA-256 (node:crypto) over the same input as the default strategy, truncated to 128 bits.
 * Choose it when fingerprints must resist deliberate collisions (a caller crafting a body that
 * collides with another caller's request under the same key); it is slower than XXH3.
 *
 * @example
 * ```ts
 * const fingerprint = Sha256FingerprintStrategy.compute("POST /payments", body);
 * ```
 */
export const Sha256FingerprintStrategy: FingerprintStrategy = {
  compute(operation: string, body: FingerprintBody): Fingerprint {
    const digest = createHash("sha256").update(fingerprintInput(operation, body)).digest();
    return Fingerprint.fromBytes(digest.subarray(0, 16));
  },
};
