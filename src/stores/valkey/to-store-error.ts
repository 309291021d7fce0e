import { IdempotencyError } from "../../errors/idempotency-error.ts";
import { MalformedRecordError } from "../../errors/malformed-record-error.ts";
import { StoreError, type StoreErrorKind } from "../../errors/store-error.ts";

/**
 * Whether a failed command may have run: `unsent` (it cannot have: refused before sending, or
 * the server answered with an error before any write), or `unknown` (its reply was lost).
 */
type Delivery = "unsent" | "unknown";

interface Rule {
  readonly pattern: RegExp;
  readonly kind: StoreErrorKind;
  readonly delivery: Delivery;
  readonly retryable: boolean;
}

// Server error replies, by their code (the first word; Redis 6 wraps script errors as
// "ERR Error running script ... -CODE ..."). Every script writes with HSET first, which the
// server refuses on OOM or READONLY before anything changed, so those are unsent.
const replyRules: readonly Rule[] = [
  { pattern: /^OOM |-OOM |OOM command not allowed/, kind: "out-of-memory", delivery: "unsent", retryable: true },
  { pattern: /^READONLY |-READONLY /, kind: "read-only", delivery: "unsent", retryable: true },
  { pattern: /^(MOVED|ASK|TRYAGAIN) /, kind: "redirection", delivery: "unsent", retryable: true },
  { pattern: /^CROSSSLOT /, kind: "redirection", delivery: "unsent", retryable: false },
  { pattern: /^(NOREPLICAS|NOTENOUGHREPLICAS) /, kind: "replication", delivery: "unsent", retryable: true },
  { pattern: /^(CLUSTERDOWN|LOADING|MASTERDOWN) /, kind: "connection", delivery: "unsent", retryable: true },
  { pattern: /^BUSY /, kind: "timeout", delivery: "unsent", retryable: true },
  { pattern: /^MISCONF /, kind: "unknown", delivery: "unsent", retryable: true },
  { pattern: /^(NOSCRIPT|ERR unknown command|ERR .*script|ERR .*[Ll]ua)/, kind: "script", delivery: "unsent", retryable: false },
  { pattern: /^ERR max number of clients/, kind: "connection", delivery: "unsent", retryable: true },
];

// Client-side failures of ioredis, iovalkey and node-redis, by message.
const clientRules: readonly Rule[] = [
  // Refused before anything was written to a socket.
  {
    pattern:
      /enableOfflineQueue|The client is (closed|offline)|Failed to refresh slots cache|All the root nodes are unavailable|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Cluster is ended/,
    kind: "connection",
    delivery: "unsent",
    retryable: true,
  },
  { pattern: /Too many Cluster redirections/, kind: "redirection", delivery: "unknown", retryable: true },
  { pattern: /timed out|[Tt]imeout/, kind: "timeout", delivery: "unknown", retryable: true },
  {
    pattern:
      /Connection is closed|Socket closed unexpectedly|ECONNRESET|EPIPE|max retries per request|Disconnects client|ECONNABORTED|socket hang up/,
    kind: "connection",
    delivery: "unknown",
    retryable: true,
  },
];

const replyErrorNames = new Set(["ReplyError", "ErrorReply", "SimpleError", "BlobError"]);

function isReplyError(error: Error): boolean {
  return replyErrorNames.has(error.constructor.name) || replyErrorNames.has(error.name);
}

/** Whether `error` is the server's NOSCRIPT reply to an EVALSHA. */
export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/**
 * Maps what a client threw to a typed error: a key holding another type to
 * {@link MalformedRecordError}, anything else to a {@link StoreError} of the matching kind.
 * `write` says the operation changes the record, so a lost reply makes it `ambiguous`.
 *
 * @example
 * ```ts
 * try {
 *   return await client.evalsha(sha, key, args);
 * } catch (error) {
 *   throw toStoreError(error, "tryInsert", true);
 * }
 * ```
 */
export function toStoreError(error: unknown, operation: string, write: boolean): IdempotencyError {
  if (error instanceof IdempotencyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^WRONGTYPE |-WRONGTYPE /.test(message)) {
    return new MalformedRecordError("", "the key holds a value of another type than a record", {
      cause: error,
    });
  }
  const reply = error instanceof Error && isReplyError(error);
  const rule =
    (reply ? replyRules : clientRules).find(({ pattern }) => pattern.test(message)) ??
    (reply ? undefined : replyRules.find(({ pattern }) => pattern.test(message)));
  const kind = rule?.kind ?? "unknown";
  // An unclassified server reply did not write; an unclassified client failure may have.
  const delivery = rule?.delivery ?? (reply ? "unsent" : "unknown");
  return new StoreError(kind, operation, message, {
    cause: error,
    retryable: rule?.retryable ?? false,
    ambiguous: write && delivery === "unknown",
  });
}
