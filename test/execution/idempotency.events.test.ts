// Idempotency: what each call reports through onEvent, and the outcome fields a caller acts on
// (retryAfterMs, leaseExpiresAt, the TTLs the store is given). Written from StrykerJS's
// surviving mutants of idempotency.ts (test/mutation/execution.md).
import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { DefaultFingerprintStrategy } from "../../src/core/default-fingerprint-strategy.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { Sha256FingerprintStrategy } from "../../src/core/sha256-fingerprint-strategy.ts";
import { defaultLeaseTtlMs, defaultRetentionTtlMs } from "../../src/core/ttl.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import type { IdempotencyEvent } from "../../src/execution/idempotency-event.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";

const request = { operation: "POST /orders", body: '{"sku":1}' };

/** A memory store seen through a wrapper that counts claims and can make removals fail. */
function wrapped(memory = new MemoryStore()) {
  const control: { inserts: number; insertedAt: number[]; removeFailure: Error | undefined } = {
    inserts: 0,
    insertedAt: [],
    removeFailure: undefined,
  };
  const store: IdempotencyStore = {
    tryInsert: (key, entry, options) => {
      control.inserts++;
      control.insertedAt.push(performance.now());
      return memory.tryInsert(key, entry, options);
    },
    complete: (key, entry, token, options) => memory.complete(key, entry, token, options),
    touch: (key, token, options) => memory.touch(key, token, options),
    remove: async (key, token) => {
      if (control.removeFailure !== undefined) throw control.removeFailure;
      return memory.remove(key, token);
    },
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
  return { store, memory, control };
}

function withEvents(options: { store?: IdempotencyStore; leaseTtlMs?: number } = {}) {
  const events: IdempotencyEvent[] = [];
  const store = options.store ?? new MemoryStore();
  const idempotency = new Idempotency({
    store,
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    onEvent: (event) => events.push(event),
  });
  return { idempotency, store, events };
}

/** Holds `key` with a call that runs until `finish` is called. */
async function hold(idempotency: Idempotency, key: IdempotencyKey) {
  let finish: (value: string) => void = () => undefined;
  const running = idempotency.execute(
    key,
    request,
    () => new Promise<string>((resolve) => (finish = resolve)),
  );
  // Until the claim is stored.
  for (let i = 0; i < 100 && (await idempotency.store.get(key)) === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return {
    running,
    finish: (value: string) => {
      finish(value);
    },
  };
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("Idempotency events", () => {
  it("reports executed, then replayed, then fingerprint-mismatch, one event per call", async () => {
    const { idempotency, events } = withEvents();
    const key = IdempotencyKey.random();
    await idempotency.execute(key, request, () => "done");
    await idempotency.execute(key, request, () => "again");
    await idempotency.execute(key, { ...request, body: "{}" }, () => "other");
    expect(events.map(({ kind }) => kind)).toEqual([
      "executed",
      "replayed",
      "fingerprint-mismatch",
    ]);
    expect(events.every((event) => event.key === key)).toBe(true);
    const [executed] = events;
    if (executed?.kind !== "executed") throw new Error("expected executed");
    expect(executed.durationMs).toBeGreaterThanOrEqual(0);
    expect(executed.durationMs).toBeLessThan(5000);
    expect(events[1]).toEqual({ kind: "replayed", key });
    expect(events[2]).toEqual({ kind: "fingerprint-mismatch", key });
  });

  it("reports in-flight once, with the outcome's retryAfterMs", async () => {
    const { idempotency, events } = withEvents();
    const key = IdempotencyKey.random();
    const { running, finish } = await hold(idempotency, key);
    const busy = await idempotency.execute(key, request, () => "never");
    if (busy.kind !== "in-flight") throw new Error(`expected in-flight, got ${busy.kind}`);
    expect(events).toEqual([{ kind: "in-flight", key, retryAfterMs: busy.retryAfterMs }]);
    finish("done");
    await running;
  });

  it("reports released when a side effect throws", async () => {
    const { idempotency, events } = withEvents();
    const key = IdempotencyKey.random();
    await expect(
      idempotency.execute(key, request, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(events).toEqual([{ kind: "released", key }]);
  });

  it("reports a failed claim as store-error, and rethrows it", async () => {
    const failure = new StoreError("connection", "tryInsert", "connection refused");
    const memory = new MemoryStore();
    const store: IdempotencyStore = {
      tryInsert: async () => {
        throw failure;
      },
      complete: (key, entry, token, options) => memory.complete(key, entry, token, options),
      touch: (key, token, options) => memory.touch(key, token, options),
      remove: (key, token) => memory.remove(key, token),
      get: (key) => memory.get(key),
      purge: (key) => memory.purge(key),
    };
    const { idempotency, events } = withEvents({ store });
    const key = IdempotencyKey.random();
    await expect(idempotency.claim(key, request)).rejects.toBe(failure);
    expect(events).toEqual([{ kind: "store-error", key, error: failure }]);
  });

  it("reports no event for a claim that fails with what is not a store error", async () => {
    const bug = new TypeError("not a store failure");
    const memory = new MemoryStore();
    const store: IdempotencyStore = {
      tryInsert: async () => {
        throw bug;
      },
      complete: (key, entry, token, options) => memory.complete(key, entry, token, options),
      touch: (key, token, options) => memory.touch(key, token, options),
      remove: (key, token) => memory.remove(key, token),
      get: (key) => memory.get(key),
      purge: (key) => memory.purge(key),
    };
    const { idempotency, events } = withEvents({ store });
    await expect(idempotency.claim(IdempotencyKey.random(), request)).rejects.toBe(bug);
    expect(events).toEqual([]);
  });

  it("keeps the side effect's error when the release fails, and reports the store error", async () => {
    const { store, control } = wrapped();
    const { idempotency, events } = withEvents({ store });
    const key = IdempotencyKey.random();
    const storeFailure = new StoreError("connection", "remove", "connection reset");
    control.removeFailure = storeFailure;
    const sideEffectError = new Error("side effect failed");
    const error = await rejection(
      idempotency.execute(key, request, () => {
        throw sideEffectError;
      }),
    );
    expect(error).toBe(sideEffectError);
    expect(events).toEqual([{ kind: "store-error", key, error: storeFailure }]);
  });
});

describe("Idempotency outcomes", () => {
  it("answers in-flight with the lease's end as stored, and a retry capped at one second", async () => {
    const { idempotency } = withEvents();
    const key = IdempotencyKey.random();
    const { running, finish } = await hold(idempotency, key);
    const busy = await idempotency.execute(key, request, () => "never");
    if (busy.kind !== "in-flight") throw new Error(`expected in-flight, got ${busy.kind}`);
    expect(busy.leaseExpiresAt).toBe((await idempotency.store.get(key))?.expiresAt);
    expect(busy.retryAfterMs).toBe(1000);
    finish("done");
    await running;
  });

  it("suggests the rest of a short lease as the retry", async () => {
    const { idempotency } = withEvents({ leaseTtlMs: 900 });
    const key = IdempotencyKey.random();
    const { running, finish } = await hold(idempotency, key);
    const busy = await idempotency.execute(key, request, () => "never");
    if (busy.kind !== "in-flight") throw new Error(`expected in-flight, got ${busy.kind}`);
    // What is left of the 900 ms lease, less the time the claim and this call took.
    expect(busy.retryAfterMs).toBeLessThanOrEqual(900);
    expect(busy.retryAfterMs).toBeGreaterThan(400);
    finish("done");
    await running;
  });

  it("suggests a retry of at least 1 ms when the store's clock says the lease already ended", async () => {
    // The store's clock runs a minute behind this process's: the entry is live for the store,
    // but by this process's clock its lease ended.
    const memory = new MemoryStore({ clock: { now: () => Date.now() - 60_000 } });
    const { idempotency } = withEvents({ store: memory, leaseTtlMs: 1000 });
    const key = IdempotencyKey.random();
    const { running, finish } = await hold(idempotency, key);
    const busy = await idempotency.execute(key, request, () => "never");
    if (busy.kind !== "in-flight") throw new Error(`expected in-flight, got ${busy.kind}`);
    expect(busy.retryAfterMs).toBe(1);
    expect(busy.leaseExpiresAt).toBeLessThan(Date.now());
    finish("done");
    await running.catch(() => undefined);
  });

  it("claims for the default lease and completes for the default retention", async () => {
    const { idempotency, store } = withEvents();
    const key = IdempotencyKey.random();
    const claimedAt = Date.now();
    const claim = await idempotency.claim(key, request);
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    const leaseEnd = (await store.get(key))?.expiresAt ?? 0;
    expect(leaseEnd - claimedAt).toBeGreaterThanOrEqual(defaultLeaseTtlMs);
    expect(leaseEnd - claimedAt).toBeLessThan(defaultLeaseTtlMs + 1000);
    const completedAt = Date.now();
    await claim.guard.complete("done");
    const retainedUntil = (await store.get(key))?.expiresAt ?? 0;
    expect(retainedUntil - completedAt).toBeGreaterThanOrEqual(defaultRetentionTtlMs);
    expect(retainedUntil - completedAt).toBeLessThan(defaultRetentionTtlMs + 1000);
  });

  it("claims for its lease and completes for its retention", async () => {
    const store = new MemoryStore();
    const idempotency = new Idempotency({ store, leaseTtlMs: 7000, retentionTtlMs: 90_000 });
    const key = IdempotencyKey.random();
    const claimedAt = Date.now();
    const claim = await idempotency.claim(key, request);
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    const leaseEnd = (await store.get(key))?.expiresAt ?? 0;
    expect(leaseEnd - claimedAt).toBeGreaterThanOrEqual(7000);
    expect(leaseEnd - claimedAt).toBeLessThan(8000);
    const completedAt = Date.now();
    await claim.guard.complete("done");
    const retainedUntil = (await store.get(key))?.expiresAt ?? 0;
    expect(retainedUntil - completedAt).toBeGreaterThanOrEqual(90_000);
    expect(retainedUntil - completedAt).toBeLessThan(91_000);
  });

  it("names the option it refuses", () => {
    const store = new MemoryStore();
    const refusal = (make: () => unknown): unknown => {
      try {
        make();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const lease = refusal(() => new Idempotency({ store, leaseTtlMs: 0 }));
    expect(lease).toBeInstanceOf(InvalidArgumentError);
    expect((lease as InvalidArgumentError).argument).toBe("leaseTtlMs");
    const retention = refusal(() => new Idempotency({ store, retentionTtlMs: 0 }));
    expect(retention).toBeInstanceOf(InvalidArgumentError);
    expect((retention as InvalidArgumentError).argument).toBe("retentionTtlMs");
  });

  it.each([-1, 1.5, Number.NaN])("refuses waitMs %s", async (waitMs) => {
    const { idempotency, store } = withEvents();
    const key = IdempotencyKey.random();
    const error = await rejection(idempotency.claim(key, request, { waitMs }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe("waitMs");
    expect((error as InvalidArgumentError).message).toBe("waitMs: expected a non-negative integer");
    expect(await store.get(key)).toBeUndefined();
  });

  it("polls a key in flight from 5 ms, doubling, until waitMs runs out", async () => {
    const { store, control } = wrapped();
    const idempotency = new Idempotency({ store });
    const key = IdempotencyKey.random();
    const { running, finish } = await hold(idempotency, key);
    control.inserts = 0;
    control.insertedAt = [];
    const startedAt = Date.now();
    const busy = await idempotency.execute(key, request, () => "never", { waitMs: 1000 });
    const tookMs = Date.now() - startedAt;
    expect(busy.kind).toBe("in-flight");
    // Claims at 0, 5, 15, 35, 75, 155, 315, 565, 815 and 1000 ms on time: late timers make
    // fewer, and a timer a millisecond early one more, never many more.
    expect(control.inserts).toBeLessThanOrEqual(11);
    // The third claim follows the first after sleeps of 5 and 10 ms, not a quarter second.
    const [first = 0, , third = Number.POSITIVE_INFINITY] = control.insertedAt;
    expect(third - first).toBeLessThan(240);
    expect(tookMs).toBeGreaterThanOrEqual(995);
    expect(tookMs).toBeLessThan(3000);
    finish("done");
    await running;
  });

  it("answers a completed key at once, without waiting out waitMs", async () => {
    const { store, control } = wrapped();
    const idempotency = new Idempotency({ store });
    const key = IdempotencyKey.random();
    await idempotency.execute(key, request, () => "done");
    control.inserts = 0;
    const startedAt = Date.now();
    const replay = await idempotency.execute(key, request, () => "never", { waitMs: 5000 });
    const mismatch = await idempotency.execute(key, { ...request, body: "[]" }, () => "never", {
      waitMs: 5000,
    });
    expect(replay.kind).toBe("replayed");
    expect(mismatch.kind).toBe("fingerprint-mismatch");
    expect(control.inserts).toBe(2);
    expect(Date.now() - startedAt).toBeLessThan(2500);
  });

  it("answers at once, after one claim, when waitMs is 0", async () => {
    const { store, control } = wrapped();
    const idempotency = new Idempotency({ store });
    const key = IdempotencyKey.random();
    const { running, finish } = await hold(idempotency, key);
    control.inserts = 0;
    expect((await idempotency.execute(key, request, () => "never")).kind).toBe("in-flight");
    expect(control.inserts).toBe(1);
    finish("done");
    await running;
  });
});

describe("Idempotency.fingerprint", () => {
  it("returns a given fingerprint as it is", () => {
    const { idempotency } = withEvents();
    const fingerprint = DefaultFingerprintStrategy.compute("op", "body");
    expect(idempotency.fingerprint({ fingerprint })).toBe(fingerprint);
  });

  it("fingerprints a request without a body as one with an empty body", () => {
    const { idempotency } = withEvents();
    const withoutBody = idempotency.fingerprint({ operation: "GET /x" });
    expect(withoutBody.equals(DefaultFingerprintStrategy.compute("GET /x", ""))).toBe(true);
  });

  it("uses the strategy it was given", async () => {
    const store = new MemoryStore();
    const idempotency = new Idempotency({ store, fingerprintStrategy: Sha256FingerprintStrategy });
    const fingerprint = idempotency.fingerprint(request);
    expect(
      fingerprint.equals(Sha256FingerprintStrategy.compute(request.operation, request.body)),
    ).toBe(true);
    expect(
      fingerprint.equals(DefaultFingerprintStrategy.compute(request.operation, request.body)),
    ).toBe(false);
    const key = IdempotencyKey.random();
    await idempotency.execute(key, request, () => CachedResponse.from("x"));
    expect((await store.get(key))?.entry.fingerprint.equals(fingerprint)).toBe(true);
  });
});
