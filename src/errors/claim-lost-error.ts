import type { CachedResponse } from "../core/cached-response.ts";
import type { FencedOutcomeKind } from "../core/fenced-outcome.ts";
import { IdempotencyError } from "./idempotency-error.ts";

/**
 * The claim was lost before its completion was stored: the lease expired (and maybe another
 * caller re-claimed the key), so the store rejected the completion, or the store kept failing
 * until the lease ended (`cause` holds the last failure). The side effect did run; its
 * response is attached so nothing is lost.
 *
 * @example
 * ```ts
 * try {
 *   await idempotency.execute(key, request, chargeCard);
 * } catch (error) {
 *   if (error instanceof ClaimLostError) {
 *     log.error("completion rejected", { outcome: error.outcome });
 *     return error.response; // what this run produced
 *   }
 *   throw error;
 * }
 * ```
 */
export class ClaimLostError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_CLAIM_LOST" as const;
  /** What the store answered to the completion, or to the lease extension that failed. */
  readonly outcome: FencedOutcomeKind;
  /** The response the side effect produced, when it finished. */
  readonly response: CachedResponse | undefined;

  constructor(outcome: FencedOutcomeKind, response?: CachedResponse, options?: ErrorOptions) {
    super(`the claim was lost (${outcome}); the completion was not stored`, options);
    this.outcome = outcome;
    this.response = response;
  }
}
