// ClaimGuard on injected timers: the retention a completion is stored for, what each way of
// settling reports through onEvent, and how a completion that keeps failing backs off.
// Written from StrykerJS's surviving mutants of claim-guard.ts (test/mutation/execution.md).
import { describe, expect, it } from "vitest";
import { DefaultFingerprintStrategy } from "../../src/core/default-fingerprint-strategy.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { FakeTimers } from "../core/fake-timers.ts";
import { ClaimGuard } from "../../src/execution/claim-guard.ts";
import type { IdempotencyEvent } from "../../src/execution/idempotency-event.ts";

const fingerprint = DefaultFingerprintStrategy.compute("POST /payments", "{}");
const retentionTtlMs = 60_000;

/** A memory store on the fake clock; `failures` are thrown by `complete` and `remove`, first. */
function setup(leaseTtlMs = 3000) {
  const timers = new FakeTimers();
  const memory = new MemoryStore({ clock: timers, sweepIntervalMs: 0 });
  const completions: number[] = [];
  const failures: { complete: Error[]; remove: Error[] } = { complete: [], remove: [] };
  let touches = 0;
  const store: IdempotencyStore = {
    tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
    complete: async (key, entry, token, options) => {
      completions.push(timers.now());
      const failure = failures.complete.shift();
      if (failure !== undefined) throw failure;
      return memory.complete(key, entry, token, options);
    },
    touch: (key, token, options) => {
      touches++;
      return memory.touch(key, token, options);
    },
    remove: async (key, token) => {
      const failure = failures.remove.shift();
      if (failure !== undefined) throw failure;
      return memory.remove(key, token);
    },
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
  const events: IdempotencyEvent[] = [];
  const claim = async (
    onEvent: ((event: IdempotencyEvent) => void) | undefined = (event) => events.push(event),
  ): Promise<ClaimGuard> => {
    const key = IdempotencyKey.random();
    const claimedAt = timers.now();
    const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint), { leaseTtlMs });
    if (result.kind !== "claimed") throw new Error("expected a claim");
    return new ClaimGuard({
      store,
      key,
      fencingToken: result.fencingToken,
      entry: result.entry,
      leaseTtlMs,
      retentionTtlMs,
      claimedAt,
      onEvent,
      timers,
    });
  };
  return { timers, memory, completions, failures, touches: () => touches, events, claim };
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("ClaimGuard retention", () => {
  it("stores a completion for the guard's retention, or the one it is given", async () => {
    const { timers, memory, claim } = setup();
    const byDefault = await claim();
    await byDefault.complete("kept by default");
    expect((await memory.get(byDefault.key))?.expiresAt).toBe(timers.now() + retentionTtlMs);
    // Each completion its own retention, also one after another.
    for (const ttl of [5000, 7000, 7000, retentionTtlMs]) {
      const guard = await claim();
      await guard.complete("kept", { retentionTtlMs: ttl });
      expect((await memory.get(guard.key))?.expiresAt).toBe(timers.now() + ttl);
    }
  });
});

describe("ClaimGuard events", () => {
  it("reports executed with the time from the claim to the stored completion", async () => {
    const { timers, claim, events } = setup();
    const guard = await claim();
    await timers.advance(1234);
    expect((await guard.complete("done")).text()).toBe("done");
    expect(events).toEqual([{ kind: "executed", key: guard.key, durationMs: 1234 }]);
  });

  it("reports released, and nothing more when disposed after settling", async () => {
    const { memory, claim, events } = setup();
    const guard = await claim();
    await guard.release();
    expect(await memory.get(guard.key)).toBeUndefined();
    await guard[Symbol.asyncDispose]();
    expect(events).toEqual([{ kind: "released", key: guard.key }]);
  });

  it("reports a completion refused as key-expired when the key was purged", async () => {
    const { memory, claim, events, completions } = setup();
    const guard = await claim();
    await memory.purge(guard.key);
    const error = await rejection(guard.complete("produced"));
    expect(error).toBeInstanceOf(ClaimLostError);
    expect((error as ClaimLostError).outcome).toBe("key-expired");
    expect((error as ClaimLostError).code).toBe("ERR_IDEMPOTENT_CLAIM_LOST");
    expect((error as ClaimLostError).response?.text()).toBe("produced");
    expect(completions).toHaveLength(1);
    expect(events).toEqual([{ kind: "claim-lost", key: guard.key, error }]);
  });

  it("reports a completion refused as fencing-mismatch when another claim took the key", async () => {
    const { memory, claim, events } = setup();
    const guard = await claim();
    await memory.purge(guard.key);
    await memory.tryInsert(guard.key, IdempotencyEntry.new(fingerprint), { leaseTtlMs: 3000 });
    const error = await rejection(guard.complete("produced"));
    expect((error as ClaimLostError).outcome).toBe("fencing-mismatch");
    expect(events).toEqual([{ kind: "claim-lost", key: guard.key, error }]);
    expect((await memory.get(guard.key))?.entry.state).toBe("processing");
  });

  it("reports a completion that fails for good as store-error, rethrown as it is", async () => {
    const { claim, events, failures, completions } = setup();
    const guard = await claim();
    const failure = new StoreError("script", "complete", "script error", { retryable: false });
    failures.complete.push(failure);
    expect(await rejection(guard.complete("produced"))).toBe(failure);
    expect(completions).toHaveLength(1);
    expect(events).toEqual([{ kind: "store-error", key: guard.key, error: failure }]);
  });

  it("rethrows a completion's failure that is not a store error at once, reporting nothing", async () => {
    const { claim, events, failures, completions } = setup();
    const guard = await claim();
    const bug = new TypeError("a bug in the store");
    failures.complete.push(bug);
    expect(await rejection(guard.complete("produced"))).toBe(bug);
    expect(completions).toHaveLength(1);
    expect(events).toEqual([]);
  });

  it("reports a release that fails as store-error, rethrown; other failures reported not at all", async () => {
    const { claim, events, failures } = setup();
    const first = await claim();
    const failure = new StoreError("connection", "remove", "connection reset");
    failures.remove.push(failure);
    expect(await rejection(first.release())).toBe(failure);
    expect(first.settled).toBe(true);
    const second = await claim();
    const lost = new ClaimLostError("fencing-mismatch");
    failures.remove.push(lost);
    expect(await rejection(second.release())).toBe(lost);
    const third = await claim();
    const bug = new TypeError("a bug in the store");
    failures.remove.push(bug);
    expect(await rejection(third.release())).toBe(bug);
    expect(events).toEqual([
      { kind: "store-error", key: first.key, error: failure },
      { kind: "claim-lost", key: second.key, error: lost },
    ]);
  });

  it("completes and releases without a listener", async () => {
    const { memory, claim } = setup();
    const completed = await claim(undefined);
    await completed.complete("done");
    expect((await memory.get(completed.key))?.entry.state).toBe("completed");
    const released = await claim(undefined);
    await released.release();
    expect(await memory.get(released.key)).toBeUndefined();
  });
});

describe("ClaimGuard settling", () => {
  it("leaves a claim whose response the cache cannot hold unsettled, to release", async () => {
    const { memory, claim, completions, touches, timers } = setup();
    const guard = await claim();
    // A bigint has no JSON form.
    const error = await rejection(guard.complete({ amount: 1n } as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe("value");
    expect(guard.settled).toBe(false);
    expect(completions).toHaveLength(0);
    // Still kept alive: the lease is extended while it is unsettled.
    await timers.advance(1000);
    expect(touches()).toBe(1);
    await guard.release();
    expect(guard.settled).toBe(true);
    expect(await memory.get(guard.key)).toBeUndefined();
  });

  it("stops the lease keeping when settled: no touch after a completion", async () => {
    const { timers, claim, touches } = setup(3000);
    const guard = await claim();
    await guard.complete("done");
    await timers.advance(10_000);
    expect(touches()).toBe(0);
    expect(guard.signal.aborted).toBe(false);
  });

  it("aborts the signal at settling when the lease already ran out", async () => {
    const { timers, claim } = setup(3000);
    const guard = await claim();
    const signal = guard.signal;
    timers.jump(3000);
    guard.abandon();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as ClaimLostError).outcome).toBe("key-expired");
  });
});

describe("ClaimGuard completion back-off", () => {
  it("doubles the back-off from 20 ms up to a ceiling of one second", async () => {
    const { timers, claim, completions, failures, events } = setup(5000);
    const guard = await claim();
    const transient = () => new StoreError("connection", "complete", "connection reset");
    failures.complete.push(...Array.from({ length: 100 }, transient));
    const startedAt = timers.now();
    const settled = rejection(guard.complete("produced"));
    await timers.advance(10_000);
    const error = await settled;
    expect(completions.map((at) => at - startedAt)).toEqual([
      0, 20, 60, 140, 300, 620, 1260, 2260, 3260, 4260,
    ]);
    expect((error as ClaimLostError).outcome).toBe("key-expired");
    expect((error as ClaimLostError).cause).toBeInstanceOf(StoreError);
    expect(events).toEqual([{ kind: "claim-lost", key: guard.key, error }]);
  });
});
