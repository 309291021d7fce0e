import { IdempotencyError } from "./idempotency-error.ts";

/**
 * A bounded store is full of live claims: nothing can be evicted without breaking at-most-once,
 * so the new claim is refused. Retryable once claims complete or expire.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ maxEntries: 10_000 });
 * try {
 *   await store.tryInsert(key, entry);
 * } catch (error) {
 *   if (error instanceof StoreCapacityError) return tooManyRequests();
 *   throw error;
 * }
 * ```
 */
export class StoreCapacityError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_STORE_CAPACITY" as const;
  /** The configured bound. */
  readonly maxEntries: number;

  constructor(maxEntries: number) {
    super(`store holds ${maxEntries} live claims, its maximum; refusing a new claim`);
    this.maxEntries = maxEntries;
  }
}
