import type { FencedOutcome, LeaseOutcome } from "./fenced-outcome.ts";
import type { FencingToken } from "./fencing-token.ts";
import type { IdempotencyEntry, Completed, Processing } from "./idempotency-entry.ts";
import type { IdempotencyKey } from "./idempotency-key.ts";
import type { InsertResult } from "./insert-result.ts";
import type { LeaseOptions, RetentionOptions } from "./ttl.ts";

/**
 * A live entry as read back from a store.
 *
 * @example
 * ```ts
 * const stored: StoredEntry | undefined = await store.get(key);
 * if (stored?.entry.state === "completed") console.log(stored.entry.response.status, stored.expiresAt);
 * ```
 */
export interface StoredEntry {
  /** The entry, processing or completed. */
  readonly entry: IdempotencyEntry;
  /** When it expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * A backend holding idempotency entries. Every operation on one key is atomic. The contract,
 * per key (an expired entry counts as absent; see the README's state machine):
 *
 * | operation | absent or expired | processing, same token | processing, other token | completed |
 * | --- | --- | --- | --- | --- |
 * | `tryInsert` | claim: processing with a new token, `claimed` | `exists` | `exists` | `exists` |
 * | `complete` | `key-expired` | completed, `applied` (`fingerprint-mismatch` if it differs) | `fencing-mismatch` | same token: `applied`, unchanged; other: `fencing-mismatch` |
 * | `touch` | `key-expired` | lease extended, `applied` | `fencing-mismatch` | `fencing-mismatch` |
 * | `remove` | `key-expired` | absent, `applied` | `fencing-mismatch` | `fencing-mismatch` |
 * | `purge` | absent | absent | absent | absent |
 *
 * Fencing tokens are strictly increasing per key, also across expiry, removal and re-claim.
 * Time is the store's business: a store has a default lease (for claims and `touch`) and a
 * default retention (for completions), and each call may give its own.
 * Run `runStoreConformance` from `idempotent/testing` against an implementation to check it.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
 * if (result.kind === "claimed") {
 *   const completed = result.entry.complete(CachedResponse.from(await sideEffect()));
 *   await store.complete(key, completed, result.fencingToken);
 * }
 * ```
 */
export interface IdempotencyStore {
  /**
   * Claims `key` with a processing entry if it is absent or expired, for `leaseTtlMs` (the
   * store's default lease when left out).
   */
  tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options?: LeaseOptions,
  ): Promise<InsertResult>;

  /**
   * Stores the response of the claim `fencingToken`, replayed for `retentionTtlMs` (the
   * store's default retention when left out).
   */
  complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<FencedOutcome>;

  /** Extends the lease of the claim `fencingToken` to `leaseTtlMs` from now. */
  touch(
    key: IdempotencyKey,
    fencingToken: FencingToken,
    options?: LeaseOptions,
  ): Promise<LeaseOutcome>;

  /** Releases the claim `fencingToken` without completing it, so a retry can claim again. */
  remove(key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome>;

  /** Reads the live entry of `key`, if any. */
  get(key: IdempotencyKey): Promise<StoredEntry | undefined>;

  /** Deletes `key` whatever its state; `true` when a live entry was deleted. */
  purge(key: IdempotencyKey): Promise<boolean>;
}
