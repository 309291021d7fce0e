import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";

const decimalPattern = /^(0|[1-9][0-9]{0,19})$/;
const maxToken = 2n ** 64n - 1n;
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

// Set by the class's static block, the one place that can read a token's private value.
let readSafeValue: (token: FencingToken) => number;

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
  static {
    readSafeValue = (token) => token.small;
  }

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
   * Wraps an unsigned 64-bit integer (a `bigint`, a safe integer `number`, or its decimal
   * string): a value the caller holds, such as a token passed on to a downstream system.
   * @throws {@link idempotent!InvalidArgumentError} (argument `value`) when the value is not such an
   *   integer.
   *
   * @example
   * ```ts
   * FencingToken.from(42n).equals(FencingToken.from("42")); // true
   * FencingToken.from(-1); // throws InvalidArgumentError
   * ```
   */
  static from(value: bigint | number | string): FencingToken {
    const token = FencingToken.#parse(value);
    if (token === undefined) {
      throw new InvalidArgumentError(
        "value",
        "expected an unsigned 64-bit integer: a bigint, a non-negative safe integer or its decimal string",
      );
    }
    return token;
  }

  /**
   * Parses the JSON form, a decimal string, as read back from storage or the wire.
   * @throws {@link MalformedRecordError} (path `fencingToken`) when it is not the decimal
   *   string of an unsigned 64-bit integer.
   *
   * @example
   * ```ts
   * FencingToken.fromJSON("1732792800123456").toString(); // "1732792800123456"
   * FencingToken.fromJSON("abc"); // throws MalformedRecordError
   * ```
   */
  static fromJSON(json: unknown): FencingToken {
    const token = typeof json === "string" ? FencingToken.#parse(json) : undefined;
    if (token === undefined) {
      throw new MalformedRecordError("fencingToken", "expected a decimal unsigned 64-bit integer");
    }
    return token;
  }

  /** The token of `value`, or undefined when it is not an unsigned 64-bit integer. */
  static #parse(value: unknown): FencingToken | undefined {
    switch (typeof value) {
      case "number":
        return Number.isSafeInteger(value) && value >= 0 ? new FencingToken(value) : undefined;
      case "string":
        return decimalPattern.test(value) ? FencingToken.#parse(BigInt(value)) : undefined;
      case "bigint":
        if (value < 0n || value > maxToken) return undefined;
        return value <= maxSafe ? new FencingToken(Number(value)) : new FencingToken(-1, value);
      default:
        return undefined;
    }
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

/**
 * The token's value when it is a safe integer (as every token a built-in store issues is), else
 * -1. A store that issues tokens from a counter can keep each as a number and compare a caller's
 * token against it without holding a {@link FencingToken} per record. Internal: not exported by
 * the package.
 *
 * @example
 * ```ts
 * if (safeTokenValue(fencingToken) !== record.token) return fencedOutcome["fencing-mismatch"];
 * ```
 */
export function safeTokenValue(token: FencingToken): number {
  return readSafeValue(token);
}
