import { MalformedRecordError } from "../errors/malformed-record-error.ts";

const decimalPattern = /^(0|[1-9][0-9]{0,19})$/;
const maxToken = 2n ** 64n - 1n;
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Proof of one claim. Every store hands out tokens that are strictly increasing per key, also
 * across expiry and re-claim, so a completion carrying an older token (a "zombie" whose lease
 * expired while it ran) is always rejected.
 *
 * Exact over the whole u64 range: `value` is a `bigint`. Tokens up to 2^53 (every token a
 * built-in store issues) are held as numbers, so comparing them allocates nothing.
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
  /** The value when it is a safe integer, else -1. */
  private readonly small: number;
  /** The value when it is beyond 2^53. */
  private readonly large: bigint | undefined;

  private constructor(small: number, large?: bigint) {
    this.small = small;
    this.large = large;
  }

  /** The token's value, an unsigned 64-bit integer. */
  get value(): bigint {
    return this.large ?? BigInt(this.small);
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
      return value <= maxSafe ? new FencingToken(Number(value)) : new FencingToken(-1, value);
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new MalformedRecordError("fencingToken", "expected a non-negative safe integer");
      }
      return new FencingToken(value);
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
    return this.small === other.small && this.large === other.large;
  }

  /** Whether this token was issued after `other`. */
  isNewerThan(other: FencingToken): boolean {
    if (this.large === undefined && other.large === undefined) return this.small > other.small;
    return this.value > other.value;
  }

  /** Decimal digits. */
  toString(): string {
    return this.large === undefined ? String(this.small) : this.large.toString();
  }

  /** The JSON form: a decimal string (JSON numbers lose precision above 2^53). */
  toJSON(): string {
    return this.toString();
  }
}
