import { IdempotencyError } from "./idempotency-error.ts";

/**
 * An operation was called on a store after `close()`.
 *
 * @example
 * ```ts
 * await store.close();
 * await store.tryInsert(key, entry); // throws StoreClosedError
 * ```
 */
export class StoreClosedError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_STORE_CLOSED" as const;

  constructor(operation: string) {
    super(`${operation}: the store is closed`);
  }
}
