// Unit test of the Valkey error mapping: the error texts ioredis, iovalkey, node-redis and the
// servers produce, each to the kind, retryability and ambiguity a caller decides on.
import { describe, expect, it } from "vitest";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError, type StoreErrorKind } from "../../src/errors/store-error.ts";
import { deadlineError, toStoreError } from "../../src/stores/valkey/to-store-error.ts";

const writes = ["tryInsert", "complete", "touch", "remove", "purge"] as const;
const reads = ["get", "checkServerConfig"] as const;

/** An error as a client raises it: a class name and a message. */
function raised(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** [error, kind, whether the command surely did not reach the server] */
const cases: [Error | string, StoreErrorKind, boolean][] = [
  [
    raised("ReplyError", "OOM command not allowed when used memory > 'maxmemory'."),
    "out-of-memory",
    true,
  ],
  [raised("Error", "OOM out of memory"), "out-of-memory", true],
  [
    raised(
      "ReplyError",
      "ERR Error running script (call to f_1): @user_script:12: OOM command not allowed when used memory > 'maxmemory'.",
    ),
    "out-of-memory",
    true,
  ],
  [
    raised("ReplyError", "READONLY You can't write against a read only replica."),
    "read-only",
    true,
  ],
  [
    raised("ReplyError", "ERR Error running script: @user_script:1: READONLY You can't write"),
    "read-only",
    true,
  ],
  [raised("ReplyError", "MOVED 3999 127.0.0.1:6381"), "redirection", true],
  [raised("ReplyError", "ASK 3999 127.0.0.1:6381"), "redirection", true],
  [raised("ReplyError", "CLUSTERDOWN The cluster is down"), "redirection", true],
  [
    raised("ReplyError", "TRYAGAIN Multiple keys request during rehashing of slot"),
    "redirection",
    true,
  ],
  [
    raised("ReplyError", "CROSSSLOT Keys in request don't hash to the same slot"),
    "redirection",
    true,
  ],
  [raised("Error", "Too many Cluster redirections. Last error: Error: MOVED"), "redirection", true],
  [raised("Error", "Failed to refresh slots cache."), "redirection", true],
  [raised("ClusterAllFailedError", "Failed to refresh slots cache."), "redirection", true],
  [raised("ReplyError", "NOREPLICAS Not enough good replicas to write."), "replication", true],
  [raised("ReplyError", "NOTENOUGHREPLICAS Not enough good replicas"), "replication", true],
  [raised("ReplyError", "LOADING Redis is loading the dataset in memory"), "connection", true],
  [raised("ReplyError", "MASTERDOWN Link with MASTER is down"), "connection", true],
  [raised("ReplyError", "BUSY Redis is busy running a script."), "connection", true],
  [raised("Error", "Command timed out"), "timeout", false],
  [raised("Error", "connect ETIMEDOUT"), "timeout", false],
  [raised("Error", "Connection timeout"), "timeout", false],
  [raised("Error", "socket time out"), "timeout", false],
  [raised("Error", "connect ECONNREFUSED 127.0.0.1:1"), "connection", true],
  [raised("Error", "getaddrinfo ENOTFOUND valkey"), "connection", true],
  [raised("Error", "connect EHOSTUNREACH 10.0.0.1:6379"), "connection", true],
  [
    raised("Error", "Stream isn't writeable and enableOfflineQueue options is false"),
    "connection",
    true,
  ],
  [raised("ClientClosedError", "The client is closed"), "connection", true],
  [raised("ClientOfflineError", "The client is offline"), "connection", true],
  [raised("Error", "Connection is closed."), "connection", false],
  [raised("Error", "read ECONNRESET"), "connection", false],
  [raised("Error", "write EPIPE"), "connection", false],
  [raised("SocketClosedUnexpectedlyError", "Socket closed unexpectedly"), "connection", false],
  [
    raised("MaxRetriesPerRequestError", "Reached the max retries per request limit (which is 2)."),
    "connection",
    false,
  ],
  [raised("DisconnectsClientError", "Disconnects client"), "connection", false],
  [
    raised(
      "ReplyError",
      "ERR Error running script (call to f_1): @user_script:3: Script attempted to access nonexistent global variable 'x'",
    ),
    "script",
    true,
  ],
  [
    raised("ReplyError", "ERR Error compiling script (new function): user_script:1: '=' expected"),
    "script",
    true,
  ],
  [raised("ReplyError", "ERR bad\nargument in user_script"), "script", true],
  [raised("ReplyError", "NOSCRIPT No matching script. Please use EVAL."), "script", true],
  [raised("ReplyError", "ERR unknown command 'EVALSHA'"), "unknown", false],
  ["a thrown string", "unknown", false],
];

describe("toStoreError", () => {
  it.each(cases)("maps %s to kind %s", (error, kind, unsent) => {
    for (const operation of [...writes, ...reads]) {
      const mapped = toStoreError(error, operation);
      expect(mapped).toBeInstanceOf(StoreError);
      const storeError = mapped as StoreError;
      expect(storeError.code).toBe("ERR_IDEMPOTENT_STORE");
      expect(storeError.kind, operation).toBe(kind);
      expect(storeError.operation).toBe(operation);
      expect(storeError.cause).toBe(error);
      expect(storeError.retryable).toBe(kind !== "script" && kind !== "unknown");
      // Only a write whose command may have reached the server is ambiguous.
      const write = (writes as readonly string[]).includes(operation);
      expect(storeError.ambiguous, operation).toBe(write && !unsent);
    }
  });

  it("quotes a generic error's message alone and a named error's class with it", () => {
    expect(toStoreError(raised("ReplyError", "ERR x"), "get").message).toBe("get: ERR x");
    expect(toStoreError(raised("Error", "ERR x"), "get").message).toBe("get: ERR x");
    expect(toStoreError(raised("ClientClosedError", "gone"), "get").message).toBe(
      "get: ClientClosedError gone",
    );
    expect(toStoreError("plain", "get").message).toBe("get: plain");
    expect(toStoreError(42, "get").message).toBe("get: 42");
  });

  it("reads the kind of a server reply at the start of its message only", () => {
    const kindOf = (error: Error) => (toStoreError(error, "get") as StoreError).kind;
    // A reply code later in the text is no reply code.
    for (const text of ["MOVED 1 x", "NOREPLICAS x", "LOADING x", "BUSY x"]) {
      expect(kindOf(raised("CustomError", `says ${text}`)), text).toBe("unknown");
    }
    expect(kindOf(raised("Error", "ERR BOOM happened"))).toBe("unknown");
    expect(kindOf(raised("Error", "ERR NOREADONLY x"))).toBe("unknown");
    expect(kindOf(raised("Error", "say ERR in a script"))).toBe("unknown");
  });

  it("answers a key of another type with MalformedRecordError, keeping the cause", () => {
    const error = raised(
      "ReplyError",
      "WRONGTYPE Operation against a key holding the wrong kind of value",
    );
    for (const operation of [...writes, ...reads]) {
      const mapped = toStoreError(error, operation);
      expect(mapped).toBeInstanceOf(MalformedRecordError);
      expect((mapped as MalformedRecordError).code).toBe("ERR_IDEMPOTENT_MALFORMED_RECORD");
      expect(mapped.message).toBe("record: the key holds a value that is not a record");
      expect(mapped.cause).toBe(error);
    }
  });

  it("passes typed errors through unchanged", () => {
    const storeError = new StoreError("timeout", "get", "late");
    const malformed = new MalformedRecordError("tok", "bad");
    expect(toStoreError(storeError, "complete")).toBe(storeError);
    expect(toStoreError(malformed, "complete")).toBe(malformed);
  });
});

describe("deadlineError", () => {
  it("is a retryable timeout, ambiguous for writes only", () => {
    for (const operation of [...writes, ...reads]) {
      const error = deadlineError(operation, 1234);
      expect(error).toBeInstanceOf(StoreError);
      expect(error.kind).toBe("timeout");
      expect(error.operation).toBe(operation);
      expect(error.message).toBe(`${operation}: no reply within 1234 ms`);
      expect(error.retryable).toBe(true);
      expect(error.ambiguous, operation).toBe((writes as readonly string[]).includes(operation));
    }
  });
});
