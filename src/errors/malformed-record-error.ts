import { IdempotencyError } from "./idempotency-error.ts";

/**
 * Serialized data (JSON form or a store's stored record) is corrupt, of an unknown version, or
 * does not describe the expected value. Never replayed as a response.
 *
 * @example
 * ```ts
 * try {
 *   IdempotencyEntry.fromJSON(JSON.parse(text));
 * } catch (error) {
 *   if (error instanceof MalformedRecordError) console.log(error.path, error.message);
 * }
 * ```
 */
export class MalformedRecordError extends IdempotencyError {
  override readonly code = "ERR_IDEMPOTENT_MALFORMED_RECORD" as const;
  /** Where in the record the problem is, e.g. `response.status`. */
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path === "" ? "record" : path}: ${message}`, options);
    this.path = path;
  }
}
