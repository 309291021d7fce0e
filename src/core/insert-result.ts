import type { FencingToken } from "./fencing-token.ts";
import type { IdempotencyEntry, Processing } from "./idempotency-entry.ts";

/** The kinds of {@link InsertResult}. */
export const insertResultKinds = ["claimed", "exists"] as const;

/** One of {@link insertResultKinds}. */
export type InsertResultKind = (typeof insertResultKinds)[number];

/** The caller won the key: run the side effect, then complete (or remove) with the token. */
export interface Claimed {
  readonly kind: "claimed";
  /** Proof of this claim; pass it to `complete`, `touch` and `remove`. */
  readonly fencingToken: FencingToken;
  /** The entry as stored, to complete once the side effect is done. */
  readonly entry: IdempotencyEntry<Processing>;
}

/** The key is held by a live entry: replay it, report it in flight, or report a conflict. */
export interface Exists {
  readonly kind: "exists";
  /** The stored entry, processing or completed. */
  readonly existing: IdempotencyEntry;
  /** When the stored entry expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * What `tryInsert` found. Narrow on `kind` before reading the claim's token.
 *
 * @example
 * ```ts
 * const result = await store.tryInsert(key, entry);
 * if (result.kind === "claimed") {
 *   // only here is result.fencingToken readable
 * } else if (result.existing.state === "completed") {
 *   return result.existing.response;
 * }
 * ```
 */
export type InsertResult = Claimed | Exists;
