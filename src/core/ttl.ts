import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";

/**
 * Longest accepted TTL: about 24.8 days, the range of Node.js timers.
 *
 * @example
 * ```ts
 * const ttlMs = Math.min(requested, maxTtlMs);
 * ```
 */
export const maxTtlMs: number = 2 ** 31 - 1;

/**
 * The lease a store gives a claim unless told otherwise: 30 seconds.
 *
 * @example
 * ```ts
 * const leaseTtlMs = options.leaseTtlMs ?? defaultLeaseTtlMs; // 30 000
 * ```
 */
export const defaultLeaseTtlMs = 30_000;

/**
 * How long a store keeps a completed response unless told otherwise: 24 hours.
 *
 * @example
 * ```ts
 * const retentionTtlMs = options.retentionTtlMs ?? defaultRetentionTtlMs; // 86 400 000
 * ```
 */
export const defaultRetentionTtlMs = 86_400_000;

/**
 * Checks a time-to-live in milliseconds: a whole number from 1 to {@link maxTtlMs}.
 *
 * @example
 * ```ts
 * const leaseTtlMs = validateTtlMs(options.leaseTtlMs ?? 30_000, "leaseTtlMs");
 * ```
 * @throws {@link idempotent!InvalidArgumentError} otherwise.
 */
export function validateTtlMs(ttlMs: unknown, argument = "ttlMs"): number {
  if (typeof ttlMs !== "number" || !Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > maxTtlMs) {
    throw new InvalidArgumentError(
      argument,
      `expected a whole number of milliseconds from 1 to ${maxTtlMs}, got ${String(ttlMs)}`,
    );
  }
  return ttlMs;
}

/**
 * Per-call lease of `tryInsert` and `touch`: how long the claim lasts from now without
 * completion or another extension. The store's own default when left out.
 *
 * @example
 * ```ts
 * await store.tryInsert(key, IdempotencyEntry.new(fingerprint), { leaseTtlMs: 10_000 });
 * ```
 */
export interface LeaseOptions {
  readonly leaseTtlMs?: number | undefined;
}

/**
 * Per-call retention of `complete`: how long the response is replayed. The store's own
 * default when left out.
 *
 * @example
 * ```ts
 * await store.complete(key, completed, fencingToken, { retentionTtlMs: 3_600_000 });
 * ```
 */
export interface RetentionOptions {
  readonly retentionTtlMs?: number | undefined;
}

/**
 * A store's default TTLs, as constructor options of the built-in stores.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ leaseTtlMs: 10_000, retentionTtlMs: 3_600_000 });
 * ```
 */
export interface StoreTtlOptions extends LeaseOptions, RetentionOptions {}

/**
 * A store's default TTLs, validated.
 *
 * @example
 * ```ts
 * const ttls: StoreTtls = resolveStoreTtls({ leaseTtlMs: 10_000 });
 * ttls.retentionTtlMs; // 86 400 000
 * ```
 */
export interface StoreTtls {
  readonly leaseTtlMs: number;
  readonly retentionTtlMs: number;
}

/**
 * Validates a store's default TTLs and fills in the library's defaults (30 s lease, 24 h
 * retention); then `leaseOf` and `retentionOf` resolve a call's own.
 *
 * @example
 * ```ts
 * const ttls = resolveStoreTtls(options); // in a store's constructor
 * const leaseTtlMs = leaseOf(options, ttls); // in tryInsert and touch
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on a TTL out of range.
 */
export function resolveStoreTtls(options: StoreTtlOptions = {}): StoreTtls {
  return Object.freeze({
    leaseTtlMs: validateTtlMs(options.leaseTtlMs ?? defaultLeaseTtlMs, "leaseTtlMs"),
    retentionTtlMs: validateTtlMs(
      options.retentionTtlMs ?? defaultRetentionTtlMs,
      "retentionTtlMs",
    ),
  });
}

/**
 * The lease of a call: its own `leaseTtlMs`, else the store's default.
 *
 * @example
 * ```ts
 * const ttlMs = leaseOf(options, this.#ttls);
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on a TTL out of range.
 */
export function leaseOf(options: LeaseOptions | undefined, defaults: StoreTtls): number {
  const ttlMs = options?.leaseTtlMs;
  return ttlMs === undefined ? defaults.leaseTtlMs : validateTtlMs(ttlMs, "leaseTtlMs");
}

/**
 * The retention of a call: its own `retentionTtlMs`, else the store's default.
 *
 * @example
 * ```ts
 * const ttlMs = retentionOf(options, this.#ttls);
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on a TTL out of range.
 */
export function retentionOf(options: RetentionOptions | undefined, defaults: StoreTtls): number {
  const ttlMs = options?.retentionTtlMs;
  return ttlMs === undefined ? defaults.retentionTtlMs : validateTtlMs(ttlMs, "retentionTtlMs");
}
