import type { FencedOutcome, LeaseOutcome } from "./fenced-outcome.ts";
import type { FencingToken } from "./fencing-token.ts";
import type { IdempotencyEntry, Completed, Processing } from "./idempotency-entry.ts";
import type { IdempotencyKey } from "./idempotency-key.ts";
import type { InsertResult } from "./insert-result.ts";
import type { TtlOptions } from "./ttl.ts";

/** A live entry as read back from a store. */
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
 * Run `runStoreConformance` from `idempotent/testing` against an implementation to check it.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint, { ttlMs: 30_000 }));
 * if (result.kind === "claimed") {
 *   const completed = result.entry.complete(CachedResponse.from(await sideEffect()));
 *   await store.complete(key, completed, result.fencingToken, { ttlMs: 86_400_000 });
 * }
 * ```
 */
export interface IdempotencyStore {
  /** Claims `key` with a processing entry if it is absent or expired. */
  tryInsert(key: IdempotencyKey, entry: IdempotencyEntry<Processing>): Promise<InsertResult>;

  /** Stores the response of the claim `fencingToken`, kept for `options.ttlMs`. */
  complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options: TtlOptions,
  ): Promise<FencedOutcome>;

  /** Extends the lease of the claim `fencingToken` to `options.ttlMs` from now. */
  touch(
    key: IdempotencyKey,
    fencingToken: FencingToken,
    options: TtlOptions,
  ): Promise<LeaseOutcome>;

  /** Releases the claim `fencingToken` without completing it, so a retry can claim again. */
  remove(key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome>;

  /** Reads the live entry of `key`, if any. */
  get(key: IdempotencyKey): Promise<StoredEntry | undefined>;

  /** Deletes `key` whatever its state; `true` when a live entry was deleted. */
  purge(key: IdempotencyKey): Promise<boolean>;
}
