import { IdempotencyError } from "./idempotency-error.ts";

/**
 * What kind of store failure happened. `serialization` (a SQL store's serialization failure or
 * deadlock: retry the transaction) and `schema` (its table is missing or has another layout:
 * not retryable) come from SQL stores.
 */
export const storeErrorKinds = [
  "connection",
  "timeout",
  "out-of-memory",
  "read-only",
  "redirection",
  "replication",
  "script",
  "serialization",
  "schema",
  "unknown",
] as const;

/**
 * One of {@link storeErrorKinds}.
 *
 * @example
 * ```ts
 * if (error instanceof StoreError) {
 *   const kind: StoreErrorKind = error.kind; // e.g. "timeout"
 * }
 * ```
 */
export type StoreErrorKind = (typeof storeErrorKinds)[number];

/**
 * A store backend failed. `retryable` says whether the same call may succeed later; `ambiguous`
 * says the operation may or may not have been applied (its reply was lost), in which case a
 * claim must be treated as not won.
 *
 * @example
 * ```ts
 * try {
 *   await store.tryInsert(key, entry);
 * } catch (error) {
 *   if (error instanceof StoreError && error.retryable) return serviceUnavailable();
 *   throw error;
 * }
 * ```
 */
export class StoreError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_STORE" as const;
  /** Failure category. */
  readonly kind: StoreErrorKind;
  /** Whether retrying the same operation later may succeed. */
  readonly retryable: boolean;
  /** Whether the operation may have been applied although no reply arrived. */
  readonly ambiguous: boolean;
  /** The store operation that failed, e.g. `tryInsert`. */
  readonly operation: string;

  constructor(
    kind: StoreErrorKind,
    operation: string,
    message: string,
    options: ErrorOptions & { retryable?: boolean; ambiguous?: boolean } = {},
  ) {
    super(`${operation}: ${message}`, options.cause === undefined ? {} : { cause: options.cause });
    this.kind = kind;
    this.operation = operation;
    this.retryable = options.retryable ?? (kind !== "script" && kind !== "schema");
    this.ambiguous = options.ambiguous ?? false;
  }
}
