// Idempotency.execute with a side effect that throws: the error the caller gets, its cause, and
// whether a retry runs again or replays. Written from StrykerJS's surviving mutants of
// idempotency.ts (test/mutation/execution.md).
import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import type { ResponseInput } from "../../src/execution/claim-guard.ts";
import type { IdempotencyEvent } from "../../src/execution/idempotency-event.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";

const request = { operation: "POST /payments", body: "{}" };

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

function setup(completeFailure?: Error) {
  const memory = new MemoryStore();
  const store: IdempotencyStore = {
    tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
    complete: async (key, entry, token, options) => {
      if (completeFailure !== undefined) throw completeFailure;
      return memory.complete(key, entry, token, options);
    },
    touch: (key, token, options) => memory.touch(key, token, options),
    remove: (key, token) => memory.remove(key, token),
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
  const events: IdempotencyEvent[] = [];
  const idempotency = new Idempotency({ store, onEvent: (event) => events.push(event) });
  return { idempotency, memory, events };
}

/** Runs a side effect that throws `thrown`, then a retry; what each gave. */
async function failThenRetry(
  idempotency: Idempotency,
  thrown: unknown,
  cacheFailure?: (error: unknown) => ResponseInput,
) {
  const key = IdempotencyKey.random();
  const error = await rejection(
    idempotency.execute(
      key,
      request,
      () => {
        throw thrown;
      },
      cacheFailure === undefined ? {} : { cacheFailure },
    ),
  );
  const retry = await idempotency.execute(key, request, () => "retried");
  return { key, error, retry };
}

describe("Idempotency.execute, a side effect that throws", () => {
  it("releases the claim when cacheFailure returns a promise, the refusal as the error's cause", async () => {
    const { idempotency } = setup();
    const thrown = new Error("declined");
    const { error, retry } = await failThenRetry(
      idempotency,
      thrown,
      () => Promise.resolve("cached") as never,
    );
    expect(error).toBe(thrown);
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(InvalidArgumentError);
    expect((cause as InvalidArgumentError).argument).toBe("cacheFailure");
    expect((cause as InvalidArgumentError).message).toBe(
      "cacheFailure: expected a response, got a promise",
    );
    expect(retry.kind).toBe("executed");
  });

  it("releases the claim when cacheFailure returns undefined", async () => {
    const { idempotency, events } = setup();
    const thrown = new Error("transient");
    const { key, error, retry } = await failThenRetry(idempotency, thrown, () => undefined);
    expect(error).toBe(thrown);
    expect(thrown.cause).toBeUndefined();
    expect(retry.kind).toBe("executed");
    expect(events.map(({ kind }) => kind)).toEqual(["released", "executed"]);
    expect(events[0]).toEqual({ kind: "released", key });
  });

  it("caches the failure's response, handing cacheFailure the side effect's error", async () => {
    const { idempotency } = setup();
    const thrown = new Error("declined");
    const seen: unknown[] = [];
    const { error, retry } = await failThenRetry(idempotency, thrown, (failure) => {
      seen.push(failure);
      return CachedResponse.from({ declined: true }, { status: 402 });
    });
    expect(error).toBe(thrown);
    expect(seen).toEqual([thrown]);
    if (retry.kind !== "replayed") throw new Error(`expected replayed, got ${retry.kind}`);
    expect(retry.response.status).toBe(402);
    expect(retry.response.json()).toEqual({ declined: true });
  });

  it("keeps a cause the side effect's error already has when cacheFailure throws", async () => {
    const { idempotency } = setup();
    const original = new Error("socket closed");
    const thrown = new Error("declined", { cause: original });
    const { error, retry } = await failThenRetry(idempotency, thrown, () => {
      throw new Error("callback bug");
    });
    expect(error).toBe(thrown);
    expect((error as Error).cause).toBe(original);
    expect(retry.kind).toBe("executed");
  });

  it("sets a cause the caller can still replace", async () => {
    const { idempotency } = setup();
    const thrown = new Error("declined");
    const callbackBug = new Error("callback bug");
    await failThenRetry(idempotency, thrown, () => {
      throw callbackBug;
    });
    expect(thrown.cause).toBe(callbackBug);
    const replacement = new Error("replacement");
    thrown.cause = replacement;
    expect(thrown.cause).toBe(replacement);
    expect(delete thrown.cause).toBe(true);
    expect(Object.hasOwn(thrown, "cause")).toBe(false);
  });

  it("rethrows a frozen error, or one that is not an Error, as it is when cacheFailure throws", async () => {
    const { idempotency } = setup();
    const frozen = Object.freeze(new Error("frozen"));
    const callback = () => {
      throw new Error("callback bug");
    };
    const first = await failThenRetry(idempotency, frozen, callback);
    expect(first.error).toBe(frozen);
    expect(frozen.cause).toBeUndefined();
    expect(first.retry.kind).toBe("executed");
    const second = await failThenRetry(idempotency, "a plain string", callback);
    expect(second.error).toBe("a plain string");
    expect(second.retry.kind).toBe("executed");
  });

  it("releases the claim without a cacheFailure, leaving the error's cause alone", async () => {
    const { idempotency } = setup();
    const thrown = new Error("transient");
    const { error, retry } = await failThenRetry(idempotency, thrown);
    expect(error).toBe(thrown);
    expect(Object.hasOwn(thrown, "cause")).toBe(false);
    expect(retry.kind).toBe("executed");
  });

  it("sets no cause on a thrown value that is not an Error when cacheFailure throws", async () => {
    const { idempotency } = setup();
    const thrown = { code: "DECLINED" };
    const { error, retry } = await failThenRetry(idempotency, thrown, () => {
      throw new Error("callback bug");
    });
    expect(error).toBe(thrown);
    expect(Object.hasOwn(thrown, "cause")).toBe(false);
    expect(retry.kind).toBe("executed");
  });

  it("keeps the side effect's error when storing the failure's response fails", async () => {
    const storeFailure = new StoreError("script", "complete", "script error", { retryable: false });
    const { idempotency, memory, events } = setup(storeFailure);
    const thrown = new Error("declined");
    const key = IdempotencyKey.random();
    const error = await rejection(
      idempotency.execute(
        key,
        request,
        () => {
          throw thrown;
        },
        { cacheFailure: () => "declined" },
      ),
    );
    expect(error).toBe(thrown);
    expect(events).toEqual([{ kind: "store-error", key, error: storeFailure }]);
    expect((await memory.get(key))?.entry.state).toBe("processing");
  });
});
