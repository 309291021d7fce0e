import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";

/** Node.js timers fire at once for delays past 2^31 - 1 ms, so longer deadlines are refused. */
const maxTimerMs = 2_147_483_647;

/**
 * Runs `work` with a deadline. When `timeoutMs` passes first, the returned promise rejects with
 * `onTimeout()` and `work`'s signal is aborted, so it sends nothing more and a client that
 * honours the signal drops a command it has not written yet. A reply that arrives after the
 * deadline is ignored, a late rejection included (it never becomes an unhandled rejection). The
 * timer is cleared as soon as `work` settles and never keeps the process alive.
 *
 * @example
 * ```ts
 * const reply = await withDeadline(
 *   2000,
 *   (signal) => connection.command(["PING"], signal),
 *   () => new Error("no reply within 2000 ms"),
 * );
 * ```
 */
export async function withDeadline<T>(
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const error = onTimeout();
        controller.abort(error);
        reject(error);
      },
      Math.min(timeoutMs, maxTimerMs),
    );
    timer.unref();
  });
  try {
    // race() subscribes to `work`, so its rejection after the deadline is handled, not thrown.
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks a deadline option: a positive integer of milliseconds that a timer can hold.
 *
 * @example
 * ```ts
 * const timeoutMs = validateDeadlineMs(options.operationTimeoutMs ?? 2000, "operationTimeoutMs");
 * ```
 */
export function validateDeadlineMs(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1 || value > maxTimerMs) {
    throw new InvalidArgumentError(argument, `expected a positive integer up to ${maxTimerMs}`);
  }
  return value;
}
