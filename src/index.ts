export {
  CachedResponse,
  type CachedResponseInit,
  type CachedResponseJson,
  type CachedResponseParts,
  type HeaderPairs,
  type JsonValue,
} from "./core/cached-response.ts";
export { systemClock, type Clock } from "./core/clock.ts";
export { DefaultFingerprintStrategy } from "./core/default-fingerprint-strategy.ts";
export {
  fencedOutcome,
  fencedOutcomeKinds,
  type FencedOutcome,
  type FencedOutcomeKind,
  type LeaseOutcome,
} from "./core/fenced-outcome.ts";
export { FencingToken } from "./core/fencing-token.ts";
export { Fingerprint } from "./core/fingerprint.ts";
export {
  fingerprintInput,
  type FingerprintBody,
  type FingerprintStrategy,
} from "./core/fingerprint-strategy.ts";
export {
  assertCompleted,
  assertProcessing,
  CompletedEntry,
  entryJsonVersion,
  entryStates,
  IdempotencyEntry,
  ProcessingEntry,
  type Completed,
  type CompletedEntryJson,
  type EntryState,
  type IdempotencyEntryFactory,
  type Processing,
  type ProcessingEntryJson,
} from "./core/idempotency-entry.ts";
export { IdempotencyKey, maxKeyBytes, validateKeySegment } from "./core/idempotency-key.ts";
export type { IdempotencyStore, StoredEntry } from "./core/idempotency-store.ts";
export {
  insertResultKinds,
  type Claimed,
  type Exists,
  type InsertResult,
  type InsertResultKind,
} from "./core/insert-result.ts";
export { assertFencingToken, assertIdempotencyKey } from "./core/store-arguments.ts";
export { Sha256FingerprintStrategy } from "./core/sha256-fingerprint-strategy.ts";
export { maxTtlMs, validateTtlMs, type TtlOptions } from "./core/ttl.ts";
export { ClaimLostError } from "./errors/claim-lost-error.ts";
export { EntryStateError } from "./errors/entry-state-error.ts";
export {
  IdempotencyError,
  idempotencyErrorCodes,
  type IdempotencyErrorCode,
} from "./errors/idempotency-error.ts";
export { InvalidArgumentError } from "./errors/invalid-argument-error.ts";
export {
  InvalidKeyError,
  invalidKeyReasons,
  type InvalidKeyReason,
} from "./errors/invalid-key-error.ts";
export { MalformedRecordError } from "./errors/malformed-record-error.ts";
export { StoreCapacityError } from "./errors/store-capacity-error.ts";
export { StoreClosedError } from "./errors/store-closed-error.ts";
export { StoreError, storeErrorKinds, type StoreErrorKind } from "./errors/store-error.ts";
export {
  ClaimGuard,
  type ClaimGuardInit,
  type CompleteOptions,
  type ResponseInput,
} from "./execution/claim-guard.ts";
export {
  executionOutcomeKinds,
  type ClaimedOutcome,
  type ClaimOutcome,
  type Executed,
  type ExecutionOutcome,
  type ExecutionOutcomeKind,
  type FingerprintMismatch,
  type InFlight,
  type Replayed,
} from "./execution/execution-outcome.ts";
export {
  Idempotency,
  type ExecuteOptions,
  type ExecutionRequest,
  type IdempotencyOptions,
  type SideEffectContext,
} from "./execution/idempotency.ts";
