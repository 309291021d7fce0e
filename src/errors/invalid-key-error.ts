import { IdempotencyError } from "./idempotency-error.ts";

/** Why a key was refused. */
export const invalidKeyReasons = [
  "empty",
  "too-long",
  "control-character",
  "reserved-character",
  "not-a-string",
] as const;

/**
 * One of {@link invalidKeyReasons}.
 *
 * @example
 * ```ts
 * if (error instanceof InvalidKeyError) {
 *   const reason: InvalidKeyReason = error.reason; // e.g. "too-long"
 * }
 * ```
 */
export type InvalidKeyReason = (typeof invalidKeyReasons)[number];

/**
 * An idempotency key (or a key prefix or scope) broke one of the key rules: 1 to 255 UTF-8
 * bytes, no control characters, no `:` or `/`.
 *
 * @example
 * ```ts
 * try {
 *   IdempotencyKey.parse("a:b");
 * } catch (error) {
 *   if (error instanceof InvalidKeyError) console.log(error.reason); // "reserved-character"
 * }
 * ```
 */
export class InvalidKeyError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_INVALID_KEY" as const;
  /** The rule the key broke. */
  readonly reason: InvalidKeyReason;

  constructor(reason: InvalidKeyReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
