/**
 * Wraps a user's callback (an error reporter, an event listener) so that neither a throw nor a
 * rejected promise from it ever escapes: a failing observer must not fail, or crash, the work
 * it observes.
 *
 * @example
 * ```ts
 * const report = contained(options.onError);
 * report(error); // never throws, never leaves an unhandled rejection
 * ```
 */
export function contained<T>(callback: ((value: T) => void) | undefined): (value: T) => void {
  if (callback === undefined) return ignore;
  // Typed to look at what it returns: an async callback's promise.
  const call: (value: T) => unknown = callback;
  return (value) => {
    try {
      const result = call(value);
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
        (result as PromiseLike<unknown>).then(undefined, () => undefined);
      }
    } catch {
      // ignored, as said above
    }
  };
}

function ignore(): void {
  // no observer
}
