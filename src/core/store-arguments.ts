import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { FencingToken } from "./fencing-token.ts";
import { IdempotencyKey } from "./idempotency-key.ts";

/**
 * Runtime checks of a store's arguments, for callers the compiler cannot check (plain
 * JavaScript, casts). Store implementations call them first.
 *
 * @example
 * ```ts
 * async touch(key: IdempotencyKey, fencingToken: FencingToken, options: TtlOptions) {
 *   assertIdempotencyKey(key);
 *   assertFencingToken(fencingToken);
 *   // ...
 * }
 * ```
 * @throws {@link idempotent!InvalidArgumentError} when `key` is not an {@link IdempotencyKey}.
 */
export function assertIdempotencyKey(key: unknown): asserts key is IdempotencyKey {
  if (!(key instanceof IdempotencyKey)) {
    throw new InvalidArgumentError("key", "expected an IdempotencyKey");
  }
}

/**
 * @example
 * ```ts
 * async remove(key: IdempotencyKey, fencingToken: FencingToken) {
 *   assertFencingToken(fencingToken);
 *   // ...
 * }
 * ```
 * @throws {@link idempotent!InvalidArgumentError} when `token` is not a {@link FencingToken}.
 */
export function assertFencingToken(token: unknown): asserts token is FencingToken {
  if (!(token instanceof FencingToken)) {
    throw new InvalidArgumentError("fencingToken", "expected a FencingToken");
  }
}
