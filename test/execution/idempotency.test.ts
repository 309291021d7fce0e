import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { delay } from "../../src/utils/delay.ts";

const request = { operation: "POST /orders", body: '{"sku":1}' };

function setup(options: { leaseTtlMs?: number } = {}) {
  const store = new MemoryStore();
  const idempotency = new Idempotency({ store, ...options });
  let runs = 0;
  const sideEffect = async () => {
    runs++;
    await delay(1);
    return CachedResponse.from({ order: runs }, { status: 201 });
  };
  return { store, idempotency, sideEffect, runs: () => runs };
}

describe("Idempotency.execute", () => {
  it("executes once, then replays the stored response", async () => {
    const { idempotency, sideEffect, runs } = setup();
    const key = IdempotencyKey.random();
    const first = await idempotency.execute(key, request, sideEffect);
    const second = await idempotency.execute(key, request, sideEffect);
    expect(first.kind).toBe("executed");
    expect(second.kind).toBe("replayed");
    if (second.kind !== "replayed" || first.kind !== "executed") return;
    expect(second.response.json()).toEqual({ order: 1 });
    expect(second.response.status).toBe(201);
    expect(runs()).toBe(1);
  });

  it("reports a different request under the same key as a fingerprint mismatch", async () => {
    const { idempotency, sideEffect, runs } = setup();
    const key = IdempotencyKey.random();
    await idempotency.execute(key, request, sideEffect);
    const other = await idempotency.execute(key, { ...request, body: '{"sku":2}' }, sideEffect);
    expect(other.kind).toBe("fingerprint-mismatch");
    const otherRoute = await idempotency.execute(
      key,
      { operation: "POST /refunds", body: request.body },
      sideEffect,
    );
    expect(otherRoute.kind).toBe("fingerprint-mismatch");
    expect(runs()).toBe(1);
  });

  it("runs the side effect exactly once among 200 concurrent callers", async () => {
    const { idempotency, sideEffect, runs } = setup();
    const key = IdempotencyKey.random();
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, () => idempotency.execute(key, request, sideEffect)),
    );
    expect(runs()).toBe(1);
    const kinds = outcomes.map((outcome) => outcome.kind);
    expect(kinds.filter((kind) => kind === "executed")).toHaveLength(1);
    expect(kinds.every((kind) => ["executed", "in-flight", "replayed"].includes(kind))).toBe(true);
  });

  it("answers in-flight while the first call runs, or waits for it when asked", async () => {
    const { idempotency, runs } = setup();
    const key = IdempotencyKey.random();
    let finish = () => {};
    const running = idempotency.execute(key, request, async () => {
      await new Promise<void>((resolve) => (finish = resolve));
      return "done";
    });
    await delay(5);
    const busy = await idempotency.execute(key, request, () => "never");
    expect(busy.kind).toBe("in-flight");
    if (busy.kind === "in-flight") {
      expect(busy.retryAfterMs).toBeGreaterThan(0);
      expect(busy.leaseExpiresAt).toBeGreaterThan(Date.now());
    }
    const waiting = idempotency.execute(key, request, () => "never", { waitMs: 2000 });
    setTimeout(finish, 30);
    const [first, waited] = await Promise.all([running, waiting]);
    expect(first.kind).toBe("executed");
    expect(waited.kind).toBe("replayed");
    if (waited.kind === "replayed") expect(waited.response.text()).toBe("done");
    expect(runs()).toBe(0);
  });

  it("releases the claim when the side effect throws, so a retry runs again", async () => {
    const { idempotency } = setup();
    const key = IdempotencyKey.random();
    let attempts = 0;
    const flaky = async () => {
      attempts++;
      if (attempts === 1) throw new Error("card network down");
      return "charged";
    };
    await expect(idempotency.execute(key, request, flaky)).rejects.toThrow("card network down");
    const retry = await idempotency.execute(key, request, flaky);
    expect(retry.kind).toBe("executed");
    expect(attempts).toBe(2);
  });

  it("caches a failure when cacheFailure maps it to a response", async () => {
    const { idempotency } = setup();
    const key = IdempotencyKey.random();
    let attempts = 0;
    const declined = async (): Promise<string> => {
      attempts++;
      throw new Error("card declined");
    };
    const cacheFailure = (error: unknown) =>
      CachedResponse.from({ error: (error as Error).message }, { status: 402 });
    await expect(idempotency.execute(key, request, declined, { cacheFailure })).rejects.toThrow(
      "card declined",
    );
    const retry = await idempotency.execute(key, request, declined, { cacheFailure });
    expect(retry.kind).toBe("replayed");
    if (retry.kind === "replayed") expect(retry.response.status).toBe(402);
    expect(attempts).toBe(1);
  });

  it("releases the claim and keeps the side effect's error when cacheFailure throws", async () => {
    const { idempotency } = setup();
    const key = IdempotencyKey.random();
    let attempts = 0;
    const declined = async (): Promise<string> => {
      attempts++;
      throw new Error("card declined");
    };
    const callbackBug = new TypeError("cacheFailure bug");
    const cacheFailure = (): never => {
      throw callbackBug;
    };
    const failed = await idempotency
      .execute(key, request, declined, { cacheFailure })
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toBe("card declined");
    expect((failed as Error).cause).toBe(callbackBug);
    // Released, not held until the lease ends: the retry runs at once.
    await expect(idempotency.execute(key, request, async () => "ok")).resolves.toMatchObject({
      kind: "executed",
    });
    expect(attempts).toBe(1);
  });

  it("releases the claim when cacheFailure returns what is not a response", async () => {
    const { idempotency } = setup();
    const key = IdempotencyKey.random();
    const failing = async (): Promise<string> => {
      throw new Error("boom");
    };
    // A BigInt has no JSON form: CachedResponse.from refuses it.
    const cacheFailure = () => ({ amount: 1n as never });
    await expect(idempotency.execute(key, request, failing, { cacheFailure })).rejects.toThrow(
      "boom",
    );
    await expect(idempotency.execute(key, request, async () => "ok")).resolves.toMatchObject({
      kind: "executed",
    });
  });

  it("extends the lease while a slow side effect runs", async () => {
    // Generous margins: timers run late on a loaded machine.
    const { idempotency, store } = setup({ leaseTtlMs: 400 });
    const key = IdempotencyKey.random();
    let signal: AbortSignal | undefined;
    const slow = idempotency.execute(key, request, async (context) => {
      signal = context.signal;
      await delay(1500);
      return "slow";
    });
    await delay(1000); // 2.5 leases later, the claim is still held
    expect((await store.get(key))?.entry.state).toBe("processing");
    expect((await idempotency.execute(key, request, () => "other")).kind).toBe("in-flight");
    expect((await slow).kind).toBe("executed");
    expect(signal?.aborted).toBe(false);
  });

  it("aborts the side effect when the claim is lost and refuses its completion", async () => {
    const { idempotency, store } = setup({ leaseTtlMs: 60 });
    const key = IdempotencyKey.random();
    let aborted: unknown;
    const zombie = idempotency.execute(key, request, async ({ signal }) => {
      signal.addEventListener("abort", () => {
        aborted = signal.reason as unknown;
      });
      await delay(120);
      return "zombie";
    });
    await delay(10);
    await store.purge(key); // an operator purge, or an expiry the lease keeper could not stop
    const fresh = await idempotency.execute(key, request, () => "fresh");
    expect(fresh.kind).toBe("executed");
    const error = await zombie.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(error).toBeInstanceOf(ClaimLostError);
    expect((error as ClaimLostError).response?.text()).toBe("zombie");
    expect(aborted).toBeInstanceOf(ClaimLostError);
    const stored = await store.get(key);
    if (stored?.entry.state !== "completed") throw new Error("expected completed");
    expect(stored.entry.response.text()).toBe("fresh");
  });

  it("fires the signal when the store stops answering past the lease", async () => {
    const memory = new MemoryStore();
    let failing = false;
    const store: IdempotencyStore = {
      tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
      complete: (key, entry, token, ttl) => memory.complete(key, entry, token, ttl),
      touch: async (key, token, ttl) => {
        if (failing) throw new StoreError("connection", "touch", "connection refused");
        return memory.touch(key, token, ttl);
      },
      remove: (key, token) => memory.remove(key, token),
      get: (key) => memory.get(key),
      purge: (key) => memory.purge(key),
    };
    const idempotency = new Idempotency({ store, leaseTtlMs: 60 });
    const reason = await new Promise<unknown>((resolve) => {
      void idempotency
        .execute(IdempotencyKey.random(), request, async ({ signal }) => {
          failing = true;
          signal.addEventListener("abort", () => {
            resolve(signal.reason as unknown);
          });
          await delay(200);
          return "late";
        })
        .catch(() => undefined);
    });
    expect(reason).toBeInstanceOf(ClaimLostError);
  });

  it("retries a completion through transient store failures while the lease lasts", async () => {
    const memory = new MemoryStore();
    let failures = 2;
    const store: IdempotencyStore = {
      tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
      complete: async (key, entry, token, ttl) => {
        if (failures-- > 0) {
          // The first attempt is applied but its reply is lost; the retry must see "applied".
          if (failures === 1) await memory.complete(key, entry, token, ttl);
          throw new StoreError("connection", "complete", "reply lost", { ambiguous: true });
        }
        return memory.complete(key, entry, token, ttl);
      },
      touch: (key, token, ttl) => memory.touch(key, token, ttl),
      remove: (key, token) => memory.remove(key, token),
      get: (key) => memory.get(key),
      purge: (key) => memory.purge(key),
    };
    const idempotency = new Idempotency({ store, leaseTtlMs: 5000 });
    const key = IdempotencyKey.random();
    const outcome = await idempotency.execute(key, request, () => "stored once");
    expect(outcome.kind).toBe("executed");
    expect(failures).toBe(-1);
    expect((await idempotency.execute(key, request, () => "again")).kind).toBe("replayed");
  });

  it("gives up with ClaimLostError, response attached, when the store fails past the lease", async () => {
    const memory = new MemoryStore();
    const store: IdempotencyStore = {
      tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
      complete: async () => {
        throw new StoreError("connection", "complete", "connection refused");
      },
      touch: (key, token, ttl) => memory.touch(key, token, ttl),
      remove: (key, token) => memory.remove(key, token),
      get: (key) => memory.get(key),
      purge: (key) => memory.purge(key),
    };
    const idempotency = new Idempotency({ store, leaseTtlMs: 200 });
    const error = await idempotency
      .execute(IdempotencyKey.random(), request, () => "produced")
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(ClaimLostError);
    expect((error as ClaimLostError).response?.text()).toBe("produced");
    expect((error as ClaimLostError).cause).toBeInstanceOf(StoreError);
  });

  it("never runs the side effect when the claim itself fails", async () => {
    const memory = new MemoryStore();
    const store: IdempotencyStore = {
      tryInsert: async () => {
        throw new StoreError("connection", "tryInsert", "reply lost", { ambiguous: true });
      },
      get: (key) => memory.get(key),
      purge: (key) => memory.purge(key),
      complete: (key, entry, token, ttl) => memory.complete(key, entry, token, ttl),
      touch: (key, token, ttl) => memory.touch(key, token, ttl),
      remove: (key, token) => memory.remove(key, token),
    };
    let runs = 0;
    const idempotency = new Idempotency({ store });
    await expect(
      idempotency.execute(IdempotencyKey.random(), request, () => {
        runs++;
        return "x";
      }),
    ).rejects.toBeInstanceOf(StoreError);
    expect(runs).toBe(0);
  });

  it("validates its options", () => {
    const store = new MemoryStore();
    expect(() => new Idempotency({ store, leaseTtlMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new Idempotency({ store, retentionTtlMs: -1 })).toThrow(InvalidArgumentError);
  });
});

describe("Idempotency.claim and ClaimGuard", () => {
  it("releases the claim when an `await using` scope exits without completing", async () => {
    const { idempotency, store } = setup();
    const key = IdempotencyKey.random();
    await expect(
      (async () => {
        const claim = await idempotency.claim(key, request);
        if (claim.kind !== "claimed") throw new Error("expected a claim");
        await using guard = claim.guard;
        expect((await store.get(key))?.entry.state).toBe("processing");
        expect(guard.settled).toBe(false);
        throw new Error("handler failed");
      })(),
    ).rejects.toThrow("handler failed");
    expect(await store.get(key)).toBeUndefined();
  });

  it("keeps a completed claim when the scope exits, and settles only once", async () => {
    const { idempotency, store } = setup();
    const key = IdempotencyKey.random();
    {
      const claim = await idempotency.claim(key, request);
      if (claim.kind !== "claimed") throw new Error("expected a claim");
      await using guard = claim.guard;
      const response = await guard.complete({ id: 1 });
      expect(response.json()).toEqual({ id: 1 });
      await expect(guard.complete("again")).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(guard.release()).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect((await store.get(key))?.entry.state).toBe("completed");
    const replay = await idempotency.claim(key, request);
    expect(replay.kind).toBe("replayed");
  });
});
