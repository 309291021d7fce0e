import { MalformedRecordError } from "../errors/malformed-record-error.ts";

const decimalPattern = /^(0|[1-9][0-9]{0,19})$/;
const maxToken = 2n ** 64n - 1n;

/**
 * Proof of one claim. Every store hands out tokens that are strictly increasing per key, also
 * across expiry and re-claim, so a completion carrying an older token (a "zombie" whose lease
 * expired while it ran) is always rejected.
 *
 * Held as a `bigint` so tokens derived from server clocks in microseconds stay exact.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, entry);
 * if (result.kind === "claimed") {
 *   console.log(result.fencingToken.toString()); // "1732792800123456"
 * }
 * ```
 */
export class FencingToken {
  /** The token's value, an unsigned 64-bit integer. */
  readonly value: bigint;

  private constructor(value: bigint) {
    this.value = value;
  }

  /**
   * Wraps an unsigned 64-bit integer (a `bigint`, a safe integer `number`, or its decimal string).
   * @throws {@link MalformedRecordError} when the value is not such an integer.
   */
  static from(value: bigint | number | string): FencingToken {
    if (typeof value === "bigint") {
      if (value < 0n || value > maxToken) {
        throw new MalformedRecordError("fencingToken", "expected an unsigned 64-bit integer");
      }
      return new FencingToken(value);
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new MalformedRecordError("fencingToken", "expected a non-negative safe integer");
      }
      return new FencingToken(BigInt(value));
    }
    return FencingToken.fromJSON(value);
  }

  /** Parses the JSON form, a decimal string. */
  static fromJSON(json: unknown): FencingToken {
    if (typeof json !== "string" || !decimalPattern.test(json)) {
      throw new MalformedRecordError("fencingToken", "expected a decimal integer string");
    }
    return FencingToken.from(BigInt(json));
  }

  /** Whether both tokens name the same claim. */
  equals(other: FencingToken): boolean {
    return this.value === other.value;
  }

  /** Whether this token was issued after `other`. */
  isNewerThan(other: FencingToken): boolean {
    return this.value > other.value;
  }

  /** Decimal digits. */
  toString(): string {
    return this.value.toString();
  }

  /** The JSON form: a decimal string (JSON numbers lose precision above 2^53). */
  toJSON(): string {
    return this.value.toString();
  }
}
