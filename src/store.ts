/**
 * What store authors use, beside the root entry's types: the runtime checks every store does,
 * the TTL rules, the fenced outcomes, and the one public way to rebuild entries from what a
 * store kept. Check a store with `runStoreConformance` from `idempotent/testing`.
 *
 * @module idempotent/store
 */
export { systemClock, type Clock } from "./core/clock.ts";
export {
  fencedOutcome,
  type FencedOutcome,
  type FencedOutcomeKind,
  type LeaseOutcome,
} from "./core/fenced-outcome.ts";
export { fingerprintInput } from "./core/fingerprint-strategy.ts";
export {
  assertCompleted,
  assertProcessing,
  type CompletedEntry,
  type ProcessingEntry,
} from "./core/idempotency-entry.ts";
export { maxKeyBytes, validateKeySegment } from "./core/idempotency-key.ts";
export type { IdempotencyStore, StoredEntry } from "./core/idempotency-store.ts";
export type { Claimed, Exists, InsertResult } from "./core/insert-result.ts";
export { restoreEntry, type CompletedParts, type ProcessingParts } from "./core/restore-entry.ts";
export { assertFencingToken, assertIdempotencyKey } from "./core/store-arguments.ts";
export {
  defaultLeaseTtlMs,
  defaultRetentionTtlMs,
  leaseOf,
  maxTtlMs,
  resolveStoreTtls,
  retentionOf,
  validateTtlMs,
  type LeaseOptions,
  type RetentionOptions,
  type StoreTtlOptions,
  type StoreTtls,
} from "./core/ttl.ts";
