import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";

/** Longest accepted TTL: about 24.8 days, the range of Node.js timers. */
export const maxTtlMs: number = 2 ** 31 - 1;

/**
 * Checks a time-to-live in milliseconds: a whole number from 1 to {@link maxTtlMs}.
 * @throws {@link InvalidArgumentError} otherwise.
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

/** Options of operations that set a time-to-live. */
export interface TtlOptions {
  /** How long the record lives, in milliseconds. */
  readonly ttlMs: number;
}
