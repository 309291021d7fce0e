import { IdempotencyError } from "./idempotency-error.ts";

/**
 * A bounded store is full of live entries (claims in flight and responses still retained) and
 * none has expired: evicting one would let that key's side effect run again, so the new claim
 * is refused and nothing ran. Retryable: room comes back as entries expire or are released or
 * purged.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ maxEntries: 10_000 });
 * try {
 *   await store.tryInsert(key, entry);
 * } catch (error) {
 *   if (error instanceof StoreCapacityError) {
 *     log.warn("idempotency store full", { limit: error.limit, max: error.max });
 *     return serviceUnavailable(); // error.retryable is true
 *   }
 *   throw error;
 * }
 * ```
 */
export class StoreCapacityError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_STORE_CAPACITY" as const;
  /** Always true: the same call may succeed once entries expire or are released. */
  readonly retryable = true as const;
  /** The bound that was hit: the number of entries or their counted bytes. */
  readonly limit: "entries" | "bytes";
  /** The configured value of that bound. */
  readonly max: number;

  constructor(limit: "entries" | "bytes", max: number) {
    super(
      `the store is at its maximum of ${max} ${limit} and none has expired; refusing a new claim`,
    );
    this.limit = limit;
    this.max = max;
  }
}
