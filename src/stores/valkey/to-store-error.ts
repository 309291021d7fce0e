import { MalformedRecordError } from "../../errors/malformed-record-error.ts";
import { StoreError, type StoreErrorKind } from "../../errors/store-error.ts";

/** Operations whose effect is unknown when their reply is lost. */
const writes = new Set(["tryInsert", "complete", "touch", "remove", "purge"]);

/**
 * The error of an operation that got no reply within its deadline. A write may still be
 * applied after it (the command can sit in a socket buffer or a client's queue), so it is
 * ambiguous; a read is not.
 *
 * @example
 * ```ts
 * const error = deadlineError("tryInsert", 2000); // kind "timeout", retryable, ambiguous
 * ```
 */
export function deadlineError(operation: string, timeoutMs: number): StoreError {
  return new StoreError("timeout", operation, `no reply within ${timeoutMs} ms`, {
    retryable: true,
    ambiguous: writes.has(operation),
  });
}

/** Error texts of ioredis, iovalkey and node-redis, by failure kind. */
const patterns: readonly [RegExp, StoreErrorKind, "sent" | "unsent" | "unknown"][] = [
  [/\bOOM command not allowed|^OOM /, "out-of-memory", "unsent"],
  [/\bREADONLY\b/, "read-only", "unsent"],
  [
    /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|CROSSSLOT) |Too many Cluster redirections|Failed to refresh slots cache|ClusterAllFailedError/i,
    "redirection",
    "unsent",
  ],
  [/^(NOREPLICAS|NOTENOUGHREPLICAS)/, "replication", "unsent"],
  [/^(LOADING|MASTERDOWN|BUSY) /, "connection", "unsent"],
  [/timed? ?out|timeout/i, "timeout", "unknown"],
  [
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Stream isn't writeable|enableOfflineQueue|client is (closed|offline)|ClientClosedError|ClientOfflineError/i,
    "connection",
    "unsent",
  ],
  [
    /Connection is closed|ECONNRESET|EPIPE|Socket closed|SocketClosedUnexpectedly|max retries|MaxRetriesPerRequest|disconnect/i,
    "connection",
    "unknown",
  ],
  [/^(ERR|NOSCRIPT).*(script|Lua|user_script)/is, "script", "unsent"],
];

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    // Client error classes (ClientClosedError, ...) carry the kind in their name; server replies
    // carry it at the start of the message.
    const generic = error.name === "Error" || error.name === "ReplyError";
    return generic ? error.message : `${error.name} ${error.message}`;
  }
  return String(error);
}

/**
 * Maps a client or server error to a typed error: a corrupt record to
 * {@link MalformedRecordError}, anything else to a {@link idempotent!StoreError} whose `ambiguous` flag
 * is set when a write may have been applied although its reply was lost.
 */
export function toStoreError(error: unknown, operation: string): StoreError | MalformedRecordError {
  if (error instanceof StoreError || error instanceof MalformedRecordError) return error;
  const message = messageOf(error);
  if (/WRONGTYPE/.test(message)) {
    return new MalformedRecordError("", "the key holds a value that is not a record", {
      cause: error,
    });
  }
  const match = patterns.find(([pattern]) => pattern.test(message));
  const [, kind, delivery] = match ?? [undefined, "unknown" as const, "unknown" as const];
  return new StoreError(kind, operation, message, {
    cause: error,
    ambiguous: delivery !== "unsent" && writes.has(operation),
    retryable: kind !== "script" && kind !== "unknown",
  });
}
