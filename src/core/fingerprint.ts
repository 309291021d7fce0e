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

  /** Wraps a 16-byte digest. */
  static fromBytes(bytes: Uint8Array): Fingerprint {
    if (bytes.byteLength !== 16) {
      throw new MalformedRecordError("fingerprint", `expected 16 bytes, got ${bytes.byteLength}`);
    }
    return new Fingerprint(Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString("hex"));
  }

  /**
   * Wraps a 128-bit digest given as an unsigned integer (as XXH3-128 libraries return it).
   * @throws {@link MalformedRecordError} when `value` is outside 0 to 2^128 - 1.
   */
  static fromBigInt(value: bigint): Fingerprint {
    if (value < 0n || value >> 128n !== 0n) {
      throw new MalformedRecordError("fingerprint", "expected an unsigned 128-bit integer");
    }
    return new Fingerprint(value.toString(16).padStart(32, "0"));
  }

  /**
   * Parses 32 hexadecimal digits.
   * @throws {@link MalformedRecordError} when `hex` is not 32 hex digits.
   */
  static fromHex(hex: unknown): Fingerprint {
    if (typeof hex !== "string" || !hexPattern.test(hex.toLowerCase())) {
      throw new MalformedRecordError("fingerprint", "expected 32 hexadecimal digits");
    }
    return new Fingerprint(hex.toLowerCase());
  }

  /** Parses the JSON form, the hex string. */
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
