/** Options of {@link delay}. */
export interface DelayOptions {
  /** Aborting it ends the wait at once, rejecting with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Waits `ms` milliseconds. The timer keeps the process alive, as any pending work should.
 *
 * @example
 * ```ts
 * await delay(50);
 * await delay(1000, { signal: guard.signal }); // rejects as soon as the claim is lost
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
