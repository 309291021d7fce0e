import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { ClaimLostError } from "../errors/claim-lost-error.ts";
import type { StoreError } from "../errors/store-error.ts";

/**
 * What happened to a key, one event per outcome and per store failure, for logs and business
 * metrics (told apart: a replayed charge is not a new charge).
 *
 * - `executed`: this call ran the side effect and stored its response (`durationMs` from the
 *   claim to the stored completion);
 * - `replayed`: an earlier call's response was returned, the side effect did not run;
 * - `in-flight`: another call holds the key (reported once per call, after any wait);
 * - `fingerprint-mismatch`: the key was used for another request;
 * - `released`: the side effect failed (or was not cacheable) and the key was released;
 * - `claim-lost`: the claim was lost before the response was stored (`error`);
 * - `store-error`: the store failed (`error`: kind, retryable, ambiguous).
 *
 * @example
 * ```ts
 * const idempotency = new Idempotency({
 *   store,
 *   onEvent: (event) => {
 *     if (event.kind === "replayed") metrics.increment("payments.replayed");
 *     if (event.kind === "store-error") log.warn({ key: event.key.value, error: event.error });
 *   },
 * });
 * ```
 */
export type IdempotencyEvent =
  | { readonly kind: "executed"; readonly key: IdempotencyKey; readonly durationMs: number }
  | { readonly kind: "replayed"; readonly key: IdempotencyKey }
  | { readonly kind: "in-flight"; readonly key: IdempotencyKey; readonly retryAfterMs: number }
  | { readonly kind: "fingerprint-mismatch"; readonly key: IdempotencyKey }
  | { readonly kind: "released"; readonly key: IdempotencyKey }
  | { readonly kind: "claim-lost"; readonly key: IdempotencyKey; readonly error: ClaimLostError }
  | { readonly kind: "store-error"; readonly key: IdempotencyKey; readonly error: StoreError };
