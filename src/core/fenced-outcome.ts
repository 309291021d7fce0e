/** The kinds of {@link FencedOutcome}. */
export const fencedOutcomeKinds = [
  "applied",
  "fencing-mismatch",
  "key-expired",
  "fingerprint-mismatch",
] as const;

/**
 * One of {@link fencedOutcomeKinds}.
 *
 * @example
 * ```ts
 * const kind: FencedOutcomeKind = (await store.remove(key, fencingToken)).kind;
 * ```
 */
export type FencedOutcomeKind = (typeof fencedOutcomeKinds)[number];

/**
 * The result of an operation fenced by a claim's token (`complete`, `touch`, `remove`):
 * - `applied`: the token still holds the claim and the operation took effect (for
 *   `complete`, also when this token already completed the key: a retried completion whose
 *   first reply was lost; the first response stays);
 * - `fencing-mismatch`: the key is live but not held by this token (re-claimed by a newer
 *   token, or completed, for `touch` and `remove`); nothing changed;
 * - `key-expired`: the key is absent or its lease ran out; nothing changed;
 * - `fingerprint-mismatch` (`complete` only): the completed entry belongs to another request
 *   than the one that claimed the key; nothing changed.
 *
 * @example
 * ```ts
 * const outcome = await store.complete(key, completed, token, { retentionTtlMs: 86_400_000 });
 * if (outcome.kind !== "applied") log.warn(`completion rejected: ${outcome.kind}`);
 * ```
 */
export interface FencedOutcome<K extends FencedOutcomeKind = FencedOutcomeKind> {
  readonly kind: K;
}

/**
 * What `touch` and `remove` report: every fenced outcome but a fingerprint mismatch.
 *
 * @example
 * ```ts
 * const outcome: LeaseOutcome = await store.touch(key, fencingToken, { leaseTtlMs: 30_000 });
 * if (outcome.kind !== "applied") controller.abort(); // the claim is lost
 * ```
 */
export type LeaseOutcome = FencedOutcome<Exclude<FencedOutcomeKind, "fingerprint-mismatch">>;

/**
 * One frozen instance per kind, so stores report outcomes without allocating.
 *
 * @example
 * ```ts
 * return fencedOutcome["key-expired"];
 * ```
 */
export const fencedOutcome: { readonly [K in FencedOutcomeKind]: FencedOutcome<K> } = {
  applied: Object.freeze({ kind: "applied" }),
  "fencing-mismatch": Object.freeze({ kind: "fencing-mismatch" }),
  "key-expired": Object.freeze({ kind: "key-expired" }),
  "fingerprint-mismatch": Object.freeze({ kind: "fingerprint-mismatch" }),
};
