import type { CachedResponse } from "../core/cached-response.ts";
import type { ClaimGuard } from "./claim-guard.ts";

/** The kinds of {@link ExecutionOutcome}. */
export const executionOutcomeKinds = [
  "executed",
  "replayed",
  "in-flight",
  "fingerprint-mismatch",
] as const;

/** One of {@link executionOutcomeKinds}. */
export type ExecutionOutcomeKind = (typeof executionOutcomeKinds)[number];

/** This call won the key, ran the side effect and stored its response. */
export interface Executed {
  readonly kind: "executed";
  readonly response: CachedResponse;
}

/** An earlier call completed the key; its response is returned, the side effect did not run. */
export interface Replayed {
  readonly kind: "replayed";
  readonly response: CachedResponse;
}

/** Another call holds the key and is still running. */
export interface InFlight {
  readonly kind: "in-flight";
  /** When that claim's lease ends unless extended, in milliseconds since the epoch. */
  readonly leaseExpiresAt: number;
  /** A suggested wait before retrying, in milliseconds (at least 1). */
  readonly retryAfterMs: number;
}

/** The key was used by a different request (another operation or body): a conflict. */
export interface FingerprintMismatch {
  readonly kind: "fingerprint-mismatch";
}

/**
 * The result of {@link Idempotency.execute}.
 *
 * @example
 * ```ts
 * const outcome = await idempotency.execute(key, request, sideEffect);
 * switch (outcome.kind) {
 *   case "executed":
 *   case "replayed":
 *     return outcome.response;
 *   case "in-flight":
 *     return retryLater(outcome.retryAfterMs);
 *   case "fingerprint-mismatch":
 *     return conflict();
 * }
 * ```
 */
export type ExecutionOutcome = Executed | Replayed | InFlight | FingerprintMismatch;

/** This call won the key; complete or release it through the guard. */
export interface ClaimedOutcome {
  readonly kind: "claimed";
  readonly guard: ClaimGuard;
}

/**
 * The result of {@link Idempotency.claim}: a guard for the winner, or what the others get.
 *
 * @example
 * ```ts
 * const claim = await idempotency.claim(key, request);
 * if (claim.kind !== "claimed") return claim;
 * await using guard = claim.guard;
 * ```
 */
export type ClaimOutcome = ClaimedOutcome | Replayed | InFlight | FingerprintMismatch;
