import { IdempotencyError } from "./idempotency-error.ts";

/**
 * An option or argument is out of its allowed range (a negative TTL, a non-integer status, ...).
 *
 * @example
 * ```ts
 * try {
 *   IdempotencyEntry.new(fingerprint, { ttlMs: -1 });
 * } catch (error) {
 *   if (error instanceof InvalidArgumentError) console.log(error.argument); // "ttlMs"
 * }
 * ```
 */
export class InvalidArgumentError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_INVALID_ARGUMENT" as const;
  /** Name of the offending argument or option. */
  readonly argument: string;

  constructor(argument: string, message: string, options?: ErrorOptions) {
    super(`${argument}: ${message}`, options);
    this.argument = argument;
  }
}
