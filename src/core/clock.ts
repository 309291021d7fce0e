/**
 * A source of wall-clock time in milliseconds since the epoch. Inject one into a store to
 * test expiry without waiting.
 *
 * @example
 * ```ts
 * let now = 0;
 * const store = new MemoryStore({ clock: { now: () => now } });
 * now += 60_000; // every lease taken before is now expired
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/**
 * The process clock, `Date.now()`.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ clock: systemClock });
 * ```
 */
export const systemClock: Clock = { now: () => Date.now() };
