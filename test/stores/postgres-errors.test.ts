import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { AlreadyCompletedError } from "../../src/stores/postgres/already-completed-error.ts";
import {
  postgresDeadlineError,
  toPostgresStoreError,
} from "../../src/stores/postgres/to-store-error.ts";

// Unit tests of the PostgreSQL error mapping: every SQLSTATE and client message it knows, as
// the StoreError a caller sees (kind, retryable, ambiguous for a write and for a read).
const writes = ["tryInsert", "complete", "completeIn", "touch", "remove", "purge", "sweep"];
const reads = ["get", "checkServerConfig"];

const withCode = (code: unknown, message = "server said no") =>
  Object.assign(new Error(message), { code });

function mapped(error: unknown, operation: string): StoreError {
  const result = toPostgresStoreError(error, operation);
  expect(result).toBeInstanceOf(StoreError);
  expect(result.cause).toBe(error);
  return result as StoreError;
}

describe("toPostgresStoreError by SQLSTATE", () => {
  it.each([
    ["57014", "timeout", true, false],
    ["55P03", "timeout", true, false],
    ["40001", "serialization", true, false],
    ["40P01", "serialization", true, false],
    ["25006", "read-only", true, false],
    ["53100", "out-of-memory", true, false],
    ["53200", "out-of-memory", true, false],
    ["53300", "connection", true, false],
    ["57P03", "connection", true, false],
    ["08001", "connection", true, false],
    ["08004", "connection", true, false],
    ["57P01", "connection", true, true],
    ["57P02", "connection", true, true],
    ["08006", "connection", true, true],
    ["08000", "connection", true, true],
    ["42P01", "schema", false, false],
    ["42703", "schema", false, false],
    ["3F000", "schema", false, false],
    ["42883", "schema", false, false],
    ["23514", "schema", false, false],
    ["23502", "schema", false, false],
    ["25P02", "serialization", true, false],
  ] as const)("%s is %s (retryable %s, ambiguous write %s)", (code, kind, retryable, maybe) => {
    for (const operation of writes) {
      const error = mapped(withCode(code), operation);
      expect(error).toMatchObject({ kind, retryable, ambiguous: maybe, operation });
      expect(error.message).toBe(`${operation}: ${code}: server said no`);
    }
    for (const operation of reads) {
      expect(mapped(withCode(code), operation)).toMatchObject({ kind, ambiguous: false });
    }
  });

  it("an unknown SQLSTATE of an unknown class is unknown, not retryable, ambiguous for a write", () => {
    for (const code of ["22012", "XX000", "57P04"]) {
      expect(mapped(withCode(code, "boom"), "complete")).toMatchObject({
        kind: "unknown",
        retryable: false,
        ambiguous: true,
        message: `complete: ${code} boom`,
      });
      expect(mapped(withCode(code, "boom"), "get")).toMatchObject({
        kind: "unknown",
        ambiguous: false,
      });
    }
  });

  it("a code that is not a SQLSTATE is matched by its text", () => {
    // pg puts a system error's name in `code`; the class of "08abc" must not count.
    expect(mapped(withCode("08abc", "x"), "touch")).toMatchObject({ kind: "unknown" });
    expect(mapped(withCode("080010", "x"), "touch")).toMatchObject({ kind: "unknown" });
    expect(mapped(withCode("x08001", "x"), "touch")).toMatchObject({ kind: "unknown" });
    expect(mapped(withCode("ECONNREFUSED", "connect failed"), "touch")).toMatchObject({
      kind: "connection",
      retryable: true,
      ambiguous: false,
      message: "touch: ECONNREFUSED connect failed",
    });
    expect(mapped(withCode(8001, "x"), "touch")).toMatchObject({
      kind: "unknown",
      message: "touch: x",
    });
  });
});

describe("toPostgresStoreError by client message", () => {
  it.each([
    "connect ECONNREFUSED 127.0.0.1:5432",
    "getaddrinfo ENOTFOUND db",
    "connect EHOSTUNREACH",
    "write CONNECT_TIMEOUT db:5432",
    "Client has encountered a connection error and is not queryable",
    "Cannot use a pool after calling end on the pool",
    "CONNECTION_ENDED",
    "timeout exceeded when trying to connect",
    "Client was closed and is not queryable",
    "econnrefused in lower case",
  ])("%s: a connection error that never ran", (message) => {
    expect(mapped(new Error(message), "complete")).toMatchObject({
      kind: "connection",
      retryable: true,
      ambiguous: false,
      message: `complete: ${message}`,
    });
  });

  it.each([
    "Connection terminated unexpectedly",
    "read ECONNRESET",
    "write EPIPE",
    "CONNECTION_CLOSED",
    "CONNECTION_DESTROYED",
    "socket hang up",
    "write after end",
    "Query read timeout",
    "connection terminated in lower case",
  ])("%s: a connection error that may have applied", (message) => {
    expect(mapped(new Error(message), "complete")).toMatchObject({
      kind: "connection",
      retryable: true,
      ambiguous: true,
    });
    expect(mapped(new Error(message), "get")).toMatchObject({
      kind: "connection",
      ambiguous: false,
    });
  });

  it.each(["Timed out", "timed out", "timedout", "time out", "query timeout", "TIMEOUT"])(
    "%s: a timeout that may have applied",
    (message) => {
      expect(mapped(new Error(message), "touch")).toMatchObject({
        kind: "timeout",
        retryable: true,
        ambiguous: true,
      });
    },
  );

  it("anything else is unknown; a thrown non-Error is described by its text", () => {
    expect(mapped(new Error("syntax"), "purge")).toMatchObject({
      kind: "unknown",
      retryable: false,
      ambiguous: true,
      message: "purge: syntax",
    });
    expect(mapped("plain text", "get")).toMatchObject({
      kind: "unknown",
      ambiguous: false,
      message: "get: plain text",
    });
    expect(mapped(null, "get")).toMatchObject({ kind: "unknown", message: "get: null" });
    expect(mapped(undefined, "get")).toMatchObject({ message: "get: undefined" });
  });

  it("passes the store's own errors through unchanged", () => {
    const store = new StoreError("timeout", "get", "x");
    const malformed = new MalformedRecordError("token", "x");
    expect(toPostgresStoreError(store, "touch")).toBe(store);
    expect(toPostgresStoreError(malformed, "touch")).toBe(malformed);
  });
});

describe("postgresDeadlineError", () => {
  it("is a retryable timeout, ambiguous for each write and no read", () => {
    for (const operation of [...writes, ...reads]) {
      const error = postgresDeadlineError(operation, 2000);
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({
        kind: "timeout",
        operation,
        retryable: true,
        ambiguous: writes.includes(operation),
        message: `${operation}: no reply within 2000 ms`,
      });
    }
  });
});

describe("AlreadyCompletedError", () => {
  it("is a fencing-mismatch claim loss marked alreadyCompleted, with the response", () => {
    const response = CachedResponse.from("done");
    const cause = new Error("first attempt");
    const error = new AlreadyCompletedError(response, { cause });
    expect(error).toBeInstanceOf(ClaimLostError);
    expect(error).toMatchObject({
      code: "ERR_IDEMPOTENT_CLAIM_LOST",
      outcome: "fencing-mismatch",
      alreadyCompleted: true,
      response,
      cause,
      message:
        "the claim's token already completed the key (an earlier attempt committed); roll back this one",
    });
    expect(new AlreadyCompletedError().response).toBeUndefined();
  });
});
