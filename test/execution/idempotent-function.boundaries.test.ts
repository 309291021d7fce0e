// idempotent(): the keys it accepts and stores under, what a replay of a stored response that
// is not one of its results gives, and the conflict a caller sees. Written from StrykerJS's
// surviving mutants of idempotent-function.ts (test/mutation/execution.md).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { IdempotencyConflictError } from "../../src/errors/idempotency-conflict-error.ts";
import { InvalidKeyError } from "../../src/errors/invalid-key-error.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { canonicalJson } from "../../src/utils/canonical-json.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { idempotent } from "../../src/execution/idempotent-function.ts";

function setup() {
  const store = new MemoryStore();
  const idempotency = new Idempotency({ store });
  return { store, idempotency };
}

const failure = (call: () => unknown): Promise<unknown> =>
  Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (error: unknown) => error,
    );

/** The stored key of `key` under `operation`: a format kept across versions. */
const storedKey = (operation: string, key: string): IdempotencyKey =>
  IdempotencyKey.parse(
    `f1.${createHash("sha256")
      .update(JSON.stringify([operation, key]))
      .digest("base64url")}`,
  );

describe("idempotent() keys", () => {
  it("stores a text key under f1. and the SHA-256 of [operation, key] in base64url", async () => {
    const { store, idempotency } = setup();
    const once = idempotent(async (id: string) => id.length, {
      idempotency,
      operation: "count",
      key: (id) => id,
    });
    await once("order 7");
    const stored = await store.get(storedKey("count", "order 7"));
    expect(stored?.entry.state).toBe("completed");
  });

  it("stores an IdempotencyKey as it is", async () => {
    const { store, idempotency } = setup();
    const key = IdempotencyKey.random();
    const once = idempotent(async (n: number) => n * 2, {
      idempotency,
      operation: "double",
      key: () => key,
    });
    expect(await once(21)).toBe(42);
    const stored = await store.get(key);
    if (stored?.entry.state !== "completed") throw new Error("expected completed");
    expect(stored.entry.response.json()).toEqual({ value: 42 });
  });

  it("takes keys of 1 to 255 characters", async () => {
    const { idempotency } = setup();
    const once = idempotent(async (id: string) => id.length, {
      idempotency,
      operation: "length",
      key: (id) => id,
    });
    expect(await once("k")).toBe(1);
    expect(await once("k".repeat(255))).toBe(255);
  });

  it.each([
    ["empty", "", "empty", "key: the key is empty"],
    ["256 characters", "k".repeat(256), "too-long", "key: the key is longer than 255 characters"],
    ["a number", 7 as unknown as string, "not-a-string", "key: expected a string, got number"],
  ])("refuses a key that is %s, without running the function", async (_, key, reason, message) => {
    const { idempotency } = setup();
    let runs = 0;
    const once = idempotent(
      async () => {
        runs++;
        return 1;
      },
      { idempotency, operation: "refused", key: () => key },
    );
    const error = await failure(() => once());
    expect(error).toBeInstanceOf(InvalidKeyError);
    expect((error as InvalidKeyError).code).toBe("ERR_IDEMPOTENT_INVALID_KEY");
    expect((error as InvalidKeyError).reason).toBe(reason);
    expect((error as InvalidKeyError).message).toBe(message);
    expect(runs).toBe(0);
  });

  it.each([
    ["empty", ""],
    ["not a string", 5 as unknown as string],
  ])("refuses an operation that is %s", (_, operation) => {
    const { idempotency } = setup();
    let error: unknown;
    try {
      idempotent(async () => 1, { idempotency, operation, key: () => "k" });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe("operation");
    expect((error as InvalidArgumentError).message).toBe("operation: expected a non-empty string");
  });
});

describe("idempotent() results", () => {
  it("gives the first caller the result as JSON gives it back, as every replay gets it", async () => {
    const { idempotency } = setup();
    const once = idempotent(async (id: string) => ({ id, at: new Date(0), skipped: undefined }), {
      idempotency,
      operation: "dated",
      key: (id) => id,
    });
    const first = await once.withOutcome("a");
    expect(first).toEqual({ kind: "executed", result: { id: "a", at: new Date(0).toISOString() } });
    expect(Object.keys(first.result)).toEqual(["id", "at"]);
    expect(await once.withOutcome("a")).toEqual({ kind: "replayed", result: first.result });
  });

  it.each([
    ["null", null],
    ["a number", 5],
  ])("refuses to replay a stored JSON %s as a result, as MalformedRecordError", async (_, json) => {
    const { idempotency } = setup();
    const key = IdempotencyKey.random();
    const operation = "imported";
    // A completion stored under the function's key by other code, for the same arguments.
    await idempotency.execute(key, { operation, body: canonicalJson(["x"]) }, () =>
      CachedResponse.from(json),
    );
    const once = idempotent(async (arg: string) => arg, { idempotency, operation, key: () => key });
    const error = await failure(() => once("x"));
    expect(error).toBeInstanceOf(MalformedRecordError);
    expect((error as MalformedRecordError).path).toBe("response");
    expect((error as MalformedRecordError).message).toBe(
      "response: not the result of an idempotent function",
    );
  });

  it.each([
    ["text", CachedResponse.from("text")],
    ["an empty 204", CachedResponse.from(undefined)],
  ])(
    "refuses to replay a stored response that is not JSON (%s) as MalformedRecordError",
    async (_, response) => {
      const { idempotency } = setup();
      const key = IdempotencyKey.random();
      const operation = "imported";
      await idempotency.execute(key, { operation, body: canonicalJson(["x"]) }, () => response);
      const once = idempotent(async (arg: string) => arg, {
        idempotency,
        operation,
        key: () => key,
      });
      const error = await failure(() => once("x"));
      expect(error).toBeInstanceOf(MalformedRecordError);
      expect((error as MalformedRecordError).path).toBe("response");
      expect((error as MalformedRecordError).message).toBe(
        "response: not the result of an idempotent function",
      );
      expect((error as MalformedRecordError).cause).toBeInstanceOf(SyntaxError);
    },
  );

  it("fingerprints all the arguments by default: other arguments under the same key conflict", async () => {
    const { idempotency } = setup();
    const once = idempotent(async (id: string, amount: number) => amount, {
      idempotency,
      operation: "charge",
      key: (id) => id,
    });
    expect(await once("c1", 100)).toBe(100);
    expect(await once("c1", 100)).toBe(100);
    const error = await failure(() => once("c1", 200));
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).reason).toBe("fingerprint-mismatch");
    expect((error as IdempotencyConflictError).retryAfterMs).toBeUndefined();
    expect((error as IdempotencyConflictError).code).toBe("ERR_IDEMPOTENT_CONFLICT");
  });

  it("gives an in-flight conflict the retry the outcome suggests", async () => {
    const store = new MemoryStore();
    const idempotency = new Idempotency({ store, leaseTtlMs: 900 });
    let finish: () => void = () => undefined;
    const once = idempotent(
      () =>
        new Promise<number>((resolve) => {
          finish = () => {
            resolve(1);
          };
        }),
      { idempotency, operation: "slow", key: () => "k" },
    );
    const first = once();
    const error = await failure(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return once();
    });
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).reason).toBe("in-flight");
    // What is left of the 900 ms lease.
    expect((error as IdempotencyConflictError).retryAfterMs).toBeLessThanOrEqual(900);
    expect((error as IdempotencyConflictError).retryAfterMs).toBeGreaterThan(400);
    finish();
    expect(await first).toBe(1);
  });
});
