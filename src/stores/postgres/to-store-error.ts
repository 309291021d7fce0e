import { MalformedRecordError } from "../../errors/malformed-record-error.ts";
import { StoreError, type StoreErrorKind } from "../../errors/store-error.ts";

/** Operations whose effect is unknown when their reply is lost. */
const writes = new Set([
  "tryInsert",
  "complete",
  "completeIn",
  "touch",
  "remove",
  "purge",
  "sweep",
]);

/**
 * The error of a statement that got no reply within its deadline: `timeout`, retryable, and
 * ambiguous for a write (it may still commit after the deadline).
 *
 * @example
 * ```ts
 * const error = postgresDeadlineError("complete", 2000); // kind "timeout", ambiguous
 * ```
 */
export function postgresDeadlineError(operation: string, timeoutMs: number): StoreError {
  return new StoreError("timeout", operation, `no reply within ${timeoutMs} ms`, {
    retryable: true,
    ambiguous: writes.has(operation),
  });
}

/** Whether the statement surely never ran ("unsent") or may have ("unknown"). */
type Delivery = "unsent" | "unknown";

/** SQLSTATE (or SQLSTATE class, two characters) to kind, retryable and delivery. */
const sqlStates: ReadonlyMap<string, readonly [StoreErrorKind, boolean, Delivery]> = new Map([
  // The server cancelled the statement: statement_timeout / cancel, lock_timeout. Not applied.
  ["57014", ["timeout", true, "unsent"]],
  ["55P03", ["timeout", true, "unsent"]],
  ["40001", ["serialization", true, "unsent"]],
  ["40P01", ["serialization", true, "unsent"]],
  ["25006", ["read-only", true, "unsent"]],
  ["53100", ["out-of-memory", true, "unsent"]],
  ["53200", ["out-of-memory", true, "unsent"]],
  ["53300", ["connection", true, "unsent"]],
  ["57P03", ["connection", true, "unsent"]],
  ["08001", ["connection", true, "unsent"]],
  ["08004", ["connection", true, "unsent"]],
  // The backend was terminated (pg_terminate_backend, shutdown): a write may have committed
  // just before the FATAL arrived.
  ["57P01", ["connection", true, "unknown"]],
  ["57P02", ["connection", true, "unknown"]],
  ["08", ["connection", true, "unknown"]],
  ["42P01", ["schema", false, "unsent"]],
  ["42703", ["schema", false, "unsent"]],
  ["3F000", ["schema", false, "unsent"]],
  ["42", ["schema", false, "unsent"]],
  // Check and not-null violations: a row another layout wrote.
  ["23", ["schema", false, "unsent"]],
  ["25P02", ["serialization", true, "unsent"]],
]);

/** Client error texts (pg, postgres.js, Kysely) with no SQLSTATE. */
const patterns: readonly [RegExp, StoreErrorKind, Delivery][] = [
  [
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|CONNECT_TIMEOUT|not queryable|Cannot use a pool after calling end|CONNECTION_ENDED|timeout exceeded when trying to connect|Client was closed and is not queryable/i,
    "connection",
    "unsent",
  ],
  [
    /Connection terminated|ECONNRESET|EPIPE|CONNECTION_CLOSED|CONNECTION_DESTROYED|socket|write after end|Query read timeout/i,
    "connection",
    "unknown",
  ],
  [/timed? ?out|timeout/i, "timeout", "unknown"],
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Maps a client or server error to a {@link idempotent!StoreError} by SQLSTATE (pg and postgres.js put it
 * in `code`), else by the client's message. `ambiguous` is set when a write may have been
 * applied although its reply was lost (a connection cut or a terminated backend mid-statement);
 * a statement the server refused or cancelled is not ambiguous.
 *
 * @example
 * ```ts
 * try {
 *   await pool.query(text, values);
 * } catch (error) {
 *   throw toPostgresStoreError(error, "tryInsert"); // 40001 → kind "serialization", retryable
 * }
 * ```
 */
export function toPostgresStoreError(
  error: unknown,
  operation: string,
): StoreError | MalformedRecordError {
  if (error instanceof StoreError || error instanceof MalformedRecordError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  const byState =
    code !== undefined && /^[0-9A-Z]{5}$/.test(code)
      ? (sqlStates.get(code) ?? sqlStates.get(code.slice(0, 2)))
      : undefined;
  if (byState !== undefined) {
    const [kind, retryable, delivery] = byState;
    return new StoreError(kind, operation, `${code}: ${message}`, {
      cause: error,
      retryable,
      ambiguous: delivery !== "unsent" && writes.has(operation),
    });
  }
  const text = code === undefined ? message : `${code} ${message}`;
  const match = patterns.find(([pattern]) => pattern.test(text));
  const [, kind, delivery] = match ?? [undefined, "unknown" as const, "unknown" as const];
  return new StoreError(kind, operation, text, {
    cause: error,
    retryable: kind !== "unknown",
    ambiguous: delivery !== "unsent" && writes.has(operation),
  });
}
