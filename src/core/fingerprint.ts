import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";

const hexPattern = /^[0-9a-f]{32}$/;

/**
 * A 128-bit digest of a request (operation and body). A retry whose fingerprint differs from
 * the stored one is a different request reusing the key: a conflict, never a replay.
 *
 * @example
 * ```ts
 * const fingerprint = DefaultFingerprintStrategy.compute("POST /orders", body);
 * fingerprint.hex; // "9a1f..." (32 hex digits)
 * Fingerprint.fromHex(fingerprint.hex).equals(fingerprint); // true
 * ```
 */
export class Fingerprint {
  /** The digest as 32 lowercase hexadecimal digits (big-endian, as `xxhsum -H2` prints it). */
  readonly hex: string;

  private constructor(hex: string) {
    this.hex = hex;
  }

  /**
   * Wraps a 16-byte digest the caller computed.
   * @throws {@link idempotent!InvalidArgumentError} (argument `bytes`) when `bytes` is not 16 bytes.
   *
   * @example
   * ```ts
   * const digest = createHash("sha256").update(body).digest().subarray(0, 16);
   * const fingerprint = Fingerprint.fromBytes(digest);
   * ```
   */
  static fromBytes(bytes: Uint8Array): Fingerprint {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength !== 16) {
      const got = bytes instanceof Uint8Array ? `${bytes.byteLength} bytes` : typeof bytes;
      throw new InvalidArgumentError("bytes", `expected a Uint8Array of 16 bytes, got ${got}`);
    }
    return new Fingerprint(Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString("hex"));
  }

  /**
   * Wraps a 128-bit digest the caller computed, given as an unsigned integer (as XXH3-128
   * libraries return it).
   * @throws {@link idempotent!InvalidArgumentError} (argument `value`) when `value` is not a `bigint` from
   *   0 to 2^128 - 1.
   *
   * @example
   * ```ts
   * Fingerprint.fromBigInt(xxh128(bytes)).hex; // 32 hex digits
   * ```
   */
  static fromBigInt(value: bigint): Fingerprint {
    if (typeof value !== "bigint" || value < 0n || value >> 128n !== 0n) {
      throw new InvalidArgumentError("value", "expected an unsigned 128-bit integer (a bigint)");
    }
    return new Fingerprint(value.toString(16).padStart(32, "0"));
  }

  /**
   * Parses 32 hexadecimal digits, the stored form (either case).
   * @throws {@link MalformedRecordError} (path `fingerprint`) when `hex` is not 32 hex digits.
   *
   * @example
   * ```ts
   * Fingerprint.fromHex("9a1f".repeat(8)).hex; // "9a1f9a1f…"
   * ```
   */
  static fromHex(hex: unknown): Fingerprint {
    if (typeof hex !== "string" || !hexPattern.test(hex.toLowerCase())) {
      throw new MalformedRecordError("fingerprint", "expected 32 hexadecimal digits");
    }
    return new Fingerprint(hex.toLowerCase());
  }

  /**
   * Parses the JSON form, the hex string.
   * @throws {@link MalformedRecordError} (path `fingerprint`) when it is not 32 hex digits.
   */
  static fromJSON(json: unknown): Fingerprint {
    return Fingerprint.fromHex(json);
  }

  /** Whether both digests are equal. */
  equals(other: Fingerprint): boolean {
    return this.hex === other.hex;
  }

  /** The 16 digest bytes. */
  toBytes(): Uint8Array {
    return new Uint8Array(Buffer.from(this.hex, "hex"));
  }

  toString(): string {
    return this.hex;
  }

  /** The JSON form: the hex string. */
  toJSON(): string {
    return this.hex;
  }
}
