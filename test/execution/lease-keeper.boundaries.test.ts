// LeaseKeeper on injected timers: claims of different leases on one clock each touch at a third
// of their own lease, and the shortest leases still get touched. Written from StrykerJS's
// surviving mutants of lease-keeper.ts (test/mutation/execution.md).
import { describe, expect, it } from "vitest";
import { fencedOutcome, type LeaseOutcome } from "../../src/core/fenced-outcome.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { FakeTimers } from "../core/fake-timers.ts";
import { LeaseKeeper } from "../../src/execution/lease-keeper.ts";

interface Touch {
  readonly key: IdempotencyKey;
  readonly at: number;
  readonly leaseTtlMs: number | undefined;
  answer(outcome: LeaseOutcome): void;
}

/** A store whose touches wait for the test to answer them; nothing else is called. */
function scriptedStore(timers: FakeTimers): { store: IdempotencyStore; touches: Touch[] } {
  const touches: Touch[] = [];
  const unexpected = () => Promise.reject(new Error("not expected in this test"));
  const store: IdempotencyStore = {
    tryInsert: unexpected,
    complete: unexpected,
    touch: (key, _token, options) =>
      new Promise<LeaseOutcome>((resolve) => {
        touches.push({ key, at: timers.now(), leaseTtlMs: options?.leaseTtlMs, answer: resolve });
      }),
    remove: unexpected,
    get: unexpected,
    purge: unexpected,
  };
  return { store, touches };
}

function keeperOn(timers: FakeTimers, store: IdempotencyStore, leaseTtlMs: number) {
  const key = IdempotencyKey.random();
  const keeper = new LeaseKeeper(
    store,
    key,
    FencingToken.from(1),
    leaseTtlMs,
    timers.now(),
    timers,
  );
  return { key, keeper };
}

describe("LeaseKeeper touch intervals", () => {
  it("touches each claim at a third of its own lease when leases differ on one clock", async () => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const start = timers.now();
    // Alternating leases, so no claim finds the queue of the one made just before it.
    const long = keeperOn(timers, store, 6000);
    const short = keeperOn(timers, store, 3000);
    const long2 = keeperOn(timers, store, 6000);
    const short2 = keeperOn(timers, store, 3000);
    await timers.advance(2000);
    const firstTouch = (key: IdempotencyKey) =>
      touches.find((touch) => touch.key === key)?.at ?? Number.NaN;
    expect(firstTouch(short.key) - start).toBe(1000);
    expect(firstTouch(short2.key) - start).toBe(1000);
    expect(firstTouch(long.key) - start).toBe(2000);
    expect(firstTouch(long2.key) - start).toBe(2000);
    expect(touches.find((touch) => touch.key === long.key)?.leaseTtlMs).toBe(6000);
    expect(touches.find((touch) => touch.key === short.key)?.leaseTtlMs).toBe(3000);
    for (const each of [long, short, long2, short2]) each.keeper.stop();
  });

  it("shares one timer among claims of the same lease made apart from others", async () => {
    const timers = new FakeTimers();
    const { store } = scriptedStore(timers);
    const keepers = [
      keeperOn(timers, store, 3000),
      keeperOn(timers, store, 6000),
      keeperOn(timers, store, 3000),
      keeperOn(timers, store, 6000),
      keeperOn(timers, store, 3000),
    ];
    // One timer per lease: a third of 3000 ms and a third of 6000 ms.
    expect(timers.set.sort((a, b) => a - b)).toEqual([1000, 2000]);
    for (const each of keepers) each.keeper.stop();
  });

  it.each([
    [1, 1],
    [2, 1],
    [5, 1],
    [6, 2],
  ])("touches a claim with a lease of %i ms after %i ms", async (leaseTtlMs, intervalMs) => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const start = timers.now();
    const { keeper } = keeperOn(timers, store, leaseTtlMs);
    await timers.advance(intervalMs - 1);
    expect(touches).toHaveLength(0);
    await timers.advance(1);
    if (intervalMs < leaseTtlMs) {
      expect(touches.map(({ at }) => at - start)).toEqual([intervalMs]);
      touches[0]?.answer(fencedOutcome.applied);
      await timers.advance(0);
      expect(keeper.leaseEndsAt).toBe(start + intervalMs + leaseTtlMs);
    } else {
      // Due at the lease's end: lost, not touched.
      expect(touches).toHaveLength(0);
      expect((keeper.signal.reason as ClaimLostError).outcome).toBe("key-expired");
    }
    keeper.stop();
  });
});

describe("LeaseKeeper stopping and losing", () => {
  it("does not abort a keeper stopped in time when stopped again after the lease's end", async () => {
    const timers = new FakeTimers();
    const { store } = scriptedStore(timers);
    const { keeper } = keeperOn(timers, store, 3000);
    const signal = keeper.signal;
    keeper.stop();
    timers.jump(5000);
    keeper.stop();
    expect(signal.aborted).toBe(false);
  });

  it("keeps the loss a touch reported as the reason, through a later stop, for a signal read after", async () => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const { keeper } = keeperOn(timers, store, 3000);
    await timers.advance(1000);
    touches[0]?.answer(fencedOutcome["fencing-mismatch"]);
    await timers.advance(0);
    timers.jump(5000);
    keeper.stop();
    expect((keeper.signal.reason as ClaimLostError).outcome).toBe("fencing-mismatch");
  });

  it("leaves no timer behind once stopped after its lease was extended", async () => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const { keeper } = keeperOn(timers, store, 3000);
    await timers.advance(1000);
    touches[0]?.answer(fencedOutcome.applied);
    await timers.advance(500);
    keeper.stop();
    // The shared queue's timer runs out at 2000 ms; nothing of this claim is left after it.
    await timers.advance(600);
    expect(timers.pending).toBe(0);
    expect(keeper.signal.aborted).toBe(false);
  });

  it("arms the deadline once per extension, not again at each touch", async () => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const { keeper } = keeperOn(timers, store, 3000);
    for (let i = 0; i < 3; i++) {
      await timers.advance(1000);
      touches[i]?.answer(fencedOutcome.applied);
      await timers.advance(0);
    }
    expect(touches).toHaveLength(3);
    // The queue's timer every 1000 ms (re-armed after the third touch too), a deadline at the
    // first touch (2000 ms ahead), and one per extension (3000 ms ahead); none at the second and
    // third touch, whose deadline was already armed.
    expect([...timers.set].sort((a, b) => a - b)).toEqual([
      1000, 1000, 1000, 1000, 2000, 3000, 3000, 3000,
    ]);
    keeper.stop();
  });

  it("aborts with key-expired when the deadline fires on a clock that was set back", async () => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const { keeper } = keeperOn(timers, store, 3000);
    const signal = keeper.signal;
    await timers.advance(1000);
    expect(touches).toHaveLength(1); // never answered: the deadline decides
    timers.shiftClock(-500);
    await timers.advance(2000);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClaimLostError);
    expect((signal.reason as ClaimLostError).outcome).toBe("key-expired");
  });
});
