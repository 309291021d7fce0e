import type { CachedResponse } from "../../core/cached-response.ts";
import { ClaimLostError } from "../../errors/claim-lost-error.ts";

/**
 * Thrown by `completeIn` when the claim's own token has already completed the key: an earlier
 * attempt of this transaction committed (typically a retry after a COMMIT whose reply was
 * lost). This attempt's business write would be a duplicate, so it must roll back. A
 * {@link idempotent!ClaimLostError} (code `ERR_IDEMPOTENT_CLAIM_LOST`, `outcome` `fencing-mismatch`: the
 * token no longer holds a processing claim), told apart by `alreadyCompleted`. Outside a
 * transaction, `complete` answers `applied` to the same call, as the store contract says.
 *
 * @example
 * ```ts
 * try {
 *   await withPgTransaction(pool, async (tx) => {
 *     await insertOrder(tx);
 *     await store.completeIn(tx, key, completed, token);
 *   });
 * } catch (error) {
 *   if (error instanceof AlreadyCompletedError) return (await store.get(key))?.entry; // the first attempt's
 *   throw error;
 * }
 * ```
 */
export class AlreadyCompletedError extends ClaimLostError {
  /** Always `true`: what tells this rejection from the other claim losses. */
  readonly alreadyCompleted = true as const;

  constructor(response?: CachedResponse, options?: ErrorOptions) {
    super("fencing-mismatch", response, options);
    this.message =
      "the claim's token already completed the key (an earlier attempt committed); roll back this one";
  }
}
