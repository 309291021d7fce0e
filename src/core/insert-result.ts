import type { FencingToken } from "./fencing-token.ts";
import type { IdempotencyEntry, Processing } from "./idempotency-entry.ts";
import type { StoredEntry } from "./idempotency-store.ts";

/**
 * The caller won the key: run the side effect, then complete (or remove) with the token.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
 * if (result.kind === "claimed") console.log(result.fencingToken.toString());
 * ```
 */
export interface Claimed {
  readonly kind: "claimed";
  /** Proof of this claim; pass it to `complete`, `touch` and `remove`. */
  readonly fencingToken: FencingToken;
  /** The entry as stored, to complete once the side effect is done. */
  readonly entry: IdempotencyEntry<Processing>;
}

/**
 * The key is held by a live entry (`entry`, expiring at `expiresAt`, as `get` reads it):
 * replay it, report it in flight, or report a conflict.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
 * if (result.kind === "exists" && result.entry.state === "completed") return result.entry.response;
 * ```
 */
export interface Exists extends StoredEntry {
  readonly kind: "exists";
}

/**
 * What `tryInsert` found. Narrow on `kind` before reading the claim's token.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, entry);
 * if (result.kind === "claimed") {
 *   // only here is result.fencingToken readable
 * } else if (result.entry.state === "completed") {
 *   return result.entry.response;
 * }
 * ```
 */
export type InsertResult = Claimed | Exists;
