// ClaimGuard on timers the test moves by hand: how long a failing completion is retried, to
// the millisecond, and what abandoning does to lease keeping. Real time: claim-guard.test.ts.
import { describe, expect, it } from "vitest";
import { DefaultFingerprintStrategy } from "../../src/core/default-fingerprint-strategy.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { FakeTimers } from "../core/fake-timers.ts";
import { ClaimGuard } from "../../src/execution/claim-guard.ts";
import type { IdempotencyEvent } from "../../src/execution/idempotency-event.ts";

const fingerprint = DefaultFingerprintStrategy.compute("POST /payments", "{}");

/** A memory store on the fake clock whose completions fail while `failing` says so. */
function setup(leaseTtlMs: number) {
  const timers = new FakeTimers();
  const memory = new MemoryStore({ clock: timers, sweepIntervalMs: 0 });
  const completions: number[] = [];
  let touches = 0;
  const control = { failing: true };
  const store: IdempotencyStore = {
    tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
    complete: async (key, entry, token, options) => {
      completions.push(timers.now());
      if (control.failing) throw new StoreError("connection", "complete", "connection reset");
      return memory.complete(key, entry, token, options);
    },
    touch: (key, token, options) => {
      touches++;
      return memory.touch(key, token, options);
    },
    remove: (key, token) => memory.remove(key, token),
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
  const events: IdempotencyEvent[] = [];
  const claim = async (): Promise<ClaimGuard> => {
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
      retentionTtlMs: 60_000,
      claimedAt,
      onEvent: (event) => events.push(event),
      timers,
    });
  };
  return { timers, memory, completions, touches: () => touches, control, events, claim };
}

describe("ClaimGuard (injected timers)", () => {
  // Back-offs of 20, 40, 80, 160, 320 ms: attempts at 0, 20, 60, 140 and 300 ms, and the next
  // would go out at 620 ms.
  it.each([
    [620, 5],
    [621, 6],
  ])(
    "with a lease of %i ms, sends %i completions: none once the next back-off reaches the lease's end",
    async (leaseTtlMs, attempts) => {
      const { timers, completions, claim, events } = setup(leaseTtlMs);
      const guard = await claim();
      const startedAt = timers.now();
      const settled = guard.complete("produced").then(
        () => undefined,
        (error: unknown) => error,
      );
      await timers.advance(2000);
      const error = await settled;
      expect(completions.map((at) => at - startedAt)).toEqual(
        [0, 20, 60, 140, 300, 620].slice(0, attempts),
      );
      expect(error).toBeInstanceOf(ClaimLostError);
      expect((error as ClaimLostError).outcome).toBe("key-expired");
      expect(events.map(({ kind }) => kind)).toEqual(["claim-lost"]);
    },
  );

  it("stores a completion retried within the lease, and reports how long the claim took", async () => {
    const { timers, memory, completions, claim, control, events } = setup(10_000);
    const guard = await claim();
    await timers.advance(250);
    const settled = guard.complete("stored");
    await timers.advance(50);
    control.failing = false;
    await timers.advance(100);
    expect((await settled).text()).toBe("stored");
    expect(completions).toHaveLength(3);
    expect((await memory.get(guard.key))?.entry.state).toBe("completed");
    expect(events).toEqual([{ kind: "executed", key: guard.key, durationMs: 250 + 60 }]);
  });

  it("keeps the lease while unsettled, and stops at abandon: the key is free once the lease ends", async () => {
    const leaseTtlMs = 3000;
    const { timers, memory, claim, touches } = setup(leaseTtlMs);
    const guard = await claim();
    await timers.advance(leaseTtlMs * 3);
    expect(touches()).toBe(9);
    expect(guard.signal.aborted).toBe(false);
    guard.abandon();
    await timers.advance(leaseTtlMs - 1);
    expect(touches()).toBe(9);
    expect(await memory.get(guard.key)).toBeDefined();
    await timers.advance(1);
    expect(await memory.get(guard.key)).toBeUndefined();
    expect(guard.signal.aborted).toBe(false);
  });

  it("aborts its signal when a touch finds the key taken over", async () => {
    const { timers, memory, claim } = setup(3000);
    const guard = await claim();
    await memory.purge(guard.key);
    await memory.tryInsert(guard.key, IdempotencyEntry.new(fingerprint), { leaseTtlMs: 3000 });
    await timers.advance(1000);
    expect(guard.signal.aborted).toBe(true);
    expect((guard.signal.reason as ClaimLostError).outcome).toBe("fencing-mismatch");
  });
});
