/**
 * What applications use: keys, fingerprints, entries, cached responses, `Idempotency`,
 * `idempotent()` and the errors. Store authors: `idempotent/store`.
 *
 * @module idempotent
 */
export {
  CachedResponse,
  type CachedResponseInit,
  type HeaderPairs,
  type JsonValue,
} from "./core/cached-response.ts";
export { DefaultFingerprintStrategy } from "./core/default-fingerprint-strategy.ts";
export type { FencedOutcome, LeaseOutcome } from "./core/fenced-outcome.ts";
export { FencingToken } from "./core/fencing-token.ts";
export { Fingerprint } from "./core/fingerprint.ts";
export type { FingerprintStrategy } from "./core/fingerprint-strategy.ts";
export { IdempotencyEntry, type Completed, type Processing } from "./core/idempotency-entry.ts";
export { IdempotencyKey } from "./core/idempotency-key.ts";
export type { IdempotencyStore, StoredEntry } from "./core/idempotency-store.ts";
export type { Claimed, Exists, InsertResult } from "./core/insert-result.ts";
export { Sha256FingerprintStrategy } from "./core/sha256-fingerprint-strategy.ts";
export { ClaimLostError } from "./errors/claim-lost-error.ts";
export { EntryStateError } from "./errors/entry-state-error.ts";
export { IdempotencyError, type IdempotencyErrorCode } from "./errors/idempotency-error.ts";
export { InvalidArgumentError } from "./errors/invalid-argument-error.ts";
export { IdempotencyConflictError } from "./errors/idempotency-conflict-error.ts";
export { InvalidKeyError } from "./errors/invalid-key-error.ts";
export { MalformedRecordError } from "./errors/malformed-record-error.ts";
export { StoreCapacityError } from "./errors/store-capacity-error.ts";
export { StoreClosedError } from "./errors/store-closed-error.ts";
export { StoreError } from "./errors/store-error.ts";
export { ClaimGuard, type CompleteOptions, type ResponseInput } from "./execution/claim-guard.ts";
export type { ClaimOutcome, ExecutionOutcome } from "./execution/execution-outcome.ts";
export type { IdempotencyEvent } from "./execution/idempotency-event.ts";
export {
  Idempotency,
  type ExecuteOptions,
  type ExecutionRequest,
  type IdempotencyOptions,
  type SideEffectContext,
} from "./execution/idempotency.ts";
export {
  idempotent,
  type IdempotentFunction,
  type IdempotentFunctionOptions,
} from "./execution/idempotent-function.ts";
