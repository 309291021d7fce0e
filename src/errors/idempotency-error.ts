/**
 * Stable machine-readable codes, one per error class.
 */
export const idempotencyErrorCodes = [
  "ERR_IDEMPOTENT_INVALID_KEY",
  "ERR_IDEMPOTENT_INVALID_ARGUMENT",
  "ERR_IDEMPOTENT_ENTRY_STATE",
  "ERR_IDEMPOTENT_MALFORMED_RECORD",
  "ERR_IDEMPOTENT_STORE",
  "ERR_IDEMPOTENT_STORE_CAPACITY",
  "ERR_IDEMPOTENT_STORE_CLOSED",
  "ERR_IDEMPOTENT_CLAIM_LOST",
  "ERR_IDEMPOTENT_CONFLICT",
] as const;

/**
 * One of {@link idempotencyErrorCodes}.
 *
 * @example
 * ```ts
 * if (error instanceof IdempotencyError) {
 *   const code: IdempotencyErrorCode = error.code; // e.g. "ERR_IDEMPOTENT_STORE"
 * }
 * ```
 */
export type IdempotencyErrorCode = (typeof idempotencyErrorCodes)[number];

/**
 * Base class of every error this library throws. Match on `code`, which is stable across
 * releases, or on the subclass with `instanceof`.
 *
 * @example
 * ```ts
 * try {
 *   IdempotencyKey.parse(header);
 * } catch (error) {
 *   if (error instanceof IdempotencyError && error.code === "ERR_IDEMPOTENT_INVALID_KEY") {
 *     return badRequest(error.message);
 *   }
 *   throw error;
 * }
 * ```
 */
export abstract class IdempotencyError extends Error {
  /** Stable identifier of the failure. */
  abstract readonly code: IdempotencyErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
