import { IdempotencyError } from "./idempotency-error.ts";

/**
 * A call of an `idempotent()` function met its key already used: by a call still running
 * (`in-flight`; retry after `retryAfterMs`), or by a call with other arguments
 * (`fingerprint-mismatch`; retrying will not help). The function did not run.
 *
 * @example
 * ```ts
 * try {
 *   await chargeOnce(event);
 * } catch (error) {
 *   if (error instanceof IdempotencyConflictError && error.reason === "in-flight") {
 *     return message.retryLater(error.retryAfterMs);
 *   }
 *   throw error;
 * }
 * ```
 */
export class IdempotencyConflictError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_CONFLICT" as const;
  /** Why the key could not be used. */
  readonly reason: "in-flight" | "fingerprint-mismatch";
  /** For `in-flight`: a suggested wait before retrying, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(reason: "in-flight" | "fingerprint-mismatch", retryAfterMs?: number) {
    super(
      reason === "in-flight"
        ? "another call with this key is still running"
        : "this key was used by a call with other arguments",
    );
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}
