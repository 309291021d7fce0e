import { delay } from "./delay.ts";

/** A handle returned by {@link Timers.setTimeout}, to pass to {@link Timers.clearTimeout}. */
export type TimerHandle = unknown;

/**
 * The time source and timers of lease keeping, injectable so tests can move time by hand
 * instead of waiting for it.
 *
 * @example
 * ```ts
 * const timer = systemTimers.setTimeout(() => console.log("later"), 1000);
 * systemTimers.clearTimeout(timer);
 * ```
 */
export interface Timers {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` after `ms`, in the background: the timer never keeps the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Waits `ms`; unlike {@link Timers.setTimeout}, the wait keeps the process alive. */
  delay(ms: number): Promise<void>;
}

/**
 * `Date.now()` and Node.js timers.
 *
 * @example
 * ```ts
 * await systemTimers.delay(20);
 * ```
 */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout> | undefined);
  },
  delay: (ms) => delay(ms),
};
