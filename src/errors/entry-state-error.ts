import { IdempotencyError } from "./idempotency-error.ts";

/**
 * The runtime backstop of the typestate: an entry in the wrong state reached an operation
 * (possible only from JavaScript or through a cast), e.g. a processing entry passed to
 * `store.complete`.
 *
 * @example
 * ```ts
 * // From plain JavaScript, where the compiler cannot stop it:
 * await store.complete(key, processingEntry, token, { ttlMs }); // throws EntryStateError
 * ```
 */
export class EntryStateError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_ENTRY_STATE" as const;
  /** The state the operation needed. */
  readonly expected: string;
  /** The state it got. */
  readonly actual: string;

  constructor(expected: string, actual: string) {
    super(`expected a ${expected} entry, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}
