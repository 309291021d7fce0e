// LeaseKeeper on timers the test moves by hand: when it touches, when it aborts, and that a
// claim settled early costs no timer of its own. The real-time tests are lease-keeper.test.ts.
import { describe, expect, it } from "vitest";
import { fencedOutcome, type LeaseOutcome } from "../../src/core/fenced-outcome.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { FakeTimers } from "../core/fake-timers.ts";
import { LeaseKeeper } from "../../src/execution/lease-keeper.ts";

const ttl = 3000;
const third = 1000;

interface Touch {
  readonly at: number;
  readonly leaseTtlMs: number | undefined;
  answer(outcome: LeaseOutcome | Error): void;
}

/** A store whose touches wait for the test to answer them; nothing else is called. */
function scriptedStore(timers: FakeTimers): { store: IdempotencyStore; touches: Touch[] } {
  const touches: Touch[] = [];
  const unexpected = () => Promise.reject(new Error("not expected in this test"));
  const store: IdempotencyStore = {
    tryInsert: unexpected,
    complete: unexpected,
    touch: (_key, _token, options) =>
      new Promise<LeaseOutcome>((resolve, reject) => {
        touches.push({
          at: timers.now(),
          leaseTtlMs: options?.leaseTtlMs,
          answer: (outcome) => {
            if (outcome instanceof Error) reject(outcome);
            else resolve(outcome);
          },
        });
      }),
    remove: unexpected,
    get: unexpected,
    purge: unexpected,
  };
  return { store, touches };
}

function keeper(claimedAtOffset = 0): {
  timers: FakeTimers;
  touches: Touch[];
  keeper: LeaseKeeper;
  claimedAt: number;
} {
  const timers = new FakeTimers();
  const { store, touches } = scriptedStore(timers);
  const claimedAt = timers.now() + claimedAtOffset;
  const keeper = new LeaseKeeper(
    store,
    IdempotencyKey.random(),
    FencingToken.from(7),
    ttl,
    claimedAt,
    timers,
  );
  return { timers, touches, keeper, claimedAt };
}

function lostOutcome(signal: AbortSignal): unknown {
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBeInstanceOf(ClaimLostError);
  return (signal.reason as ClaimLostError).outcome;
}

describe("LeaseKeeper (injected timers)", () => {
  it("sets no timer of its own and sends no touch for claims settled before a third of the lease", async () => {
    const timers = new FakeTimers();
    const { store, touches } = scriptedStore(timers);
    const keepers = Array.from(
      { length: 100 },
      (_, i) =>
        new LeaseKeeper(
          store,
          IdempotencyKey.random(),
          FencingToken.from(i + 1),
          ttl,
          timers.now(),
          timers,
        ),
    );
    await timers.advance(third - 1);
    for (const each of keepers) each.stop();
    // One timer for the queue all of them share, and no other.
    expect(timers.set).toEqual([third]);
    await timers.advance(ttl * 3);
    expect(touches).toHaveLength(0);
    expect(timers.pending).toBe(0);
    for (const each of keepers) expect(each.signal.aborted).toBe(false);
  });

  it("touches a third of the lease after the claim, then a third after each touch answers, asking for the whole lease", async () => {
    const { timers, touches, keeper: lease } = keeper();
    await timers.advance(third - 1);
    expect(touches).toHaveLength(0);
    await timers.advance(1);
    expect(touches.map(({ at }) => at)).toEqual([timers.now()]);
    expect(touches[0]?.leaseTtlMs).toBe(ttl);
    // No second touch while the first is unanswered.
    await timers.advance(third);
    expect(touches).toHaveLength(1);
    touches[0]?.answer(fencedOutcome.applied);
    const answeredAt = timers.now();
    await timers.advance(third);
    expect(touches).toHaveLength(2);
    expect(touches[1]?.at).toBe(answeredAt + third);
    expect(lease.signal.aborted).toBe(false);
    lease.stop();
  });

  it("measures an extended lease from when its touch was sent, not when it was answered", async () => {
    const { timers, touches, keeper: lease, claimedAt } = keeper();
    expect(lease.leaseEndsAt).toBe(claimedAt + ttl);
    await timers.advance(third);
    const sentAt = touches[0]?.at ?? 0;
    await timers.advance(500);
    touches[0]?.answer(fencedOutcome.applied);
    await timers.advance(0);
    expect(lease.leaseEndsAt).toBe(sentAt + ttl);
    lease.stop();
  });

  it.each(["fencing-mismatch", "key-expired"] as const)(
    "aborts as soon as a touch reports %s, long before the lease ends",
    async (outcome) => {
      const { timers, touches, keeper: lease } = keeper();
      const signal = lease.signal;
      let abortedAt: number | undefined;
      signal.addEventListener("abort", () => {
        abortedAt = timers.now();
      });
      await timers.advance(third);
      touches[0]?.answer(fencedOutcome[outcome]);
      await timers.advance(0);
      expect(lostOutcome(signal)).toBe(outcome);
      expect(abortedAt).toBe(timers.now());
      expect(abortedAt).toBeLessThan(lease.leaseEndsAt);
      // Lost for good: no more touches, no timers left.
      await timers.advance(ttl * 3);
      expect(touches).toHaveLength(1);
      expect(timers.pending).toBe(0);
    },
  );

  it("gives a signal first read after the loss already aborted, with the loss as its reason", async () => {
    const { timers, touches, keeper: lease } = keeper();
    await timers.advance(third);
    touches[0]?.answer(fencedOutcome["fencing-mismatch"]);
    await timers.advance(0);
    expect(lostOutcome(lease.signal)).toBe("fencing-mismatch");
    expect(lease.signal).toBe(lease.signal);
  });

  it("aborts exactly when the lease ends while every touch fails, and not a moment before", async () => {
    const { timers, touches, keeper: lease, claimedAt } = keeper();
    for (let i = 0; i < 2; i++) {
      await timers.advance(third);
      touches[i]?.answer(new StoreError("connection", "touch", "connection refused"));
    }
    await timers.advance(claimedAt + ttl - 1 - timers.now());
    expect(lease.signal.aborted).toBe(false);
    await timers.advance(1);
    expect(lostOutcome(lease.signal)).toBe("key-expired");
    expect(touches).toHaveLength(2);
  });

  it("aborts when the lease ends while a touch hangs, and sends no other", async () => {
    const { timers, touches, keeper: lease, claimedAt } = keeper();
    await timers.advance(ttl - 1);
    expect(lease.signal.aborted).toBe(false);
    await timers.advance(1);
    expect(timers.now()).toBe(claimedAt + ttl);
    expect(lostOutcome(lease.signal)).toBe("key-expired");
    expect(touches).toHaveLength(1);
    // A late answer changes nothing.
    touches[0]?.answer(fencedOutcome.applied);
    await timers.advance(ttl);
    expect(lostOutcome(lease.signal)).toBe("key-expired");
    expect(touches).toHaveLength(1);
  });

  it("counts the lease from when the claim was sent, not from when the keeper was made", async () => {
    const { timers, keeper: lease } = keeper(-(ttl - 10));
    // Touches fail to arrive in time: the first goes out a third from now, the lease ends at 10.
    await timers.advance(9);
    expect(lease.signal.aborted).toBe(false);
    lease.stop();
    expect(lease.signal.aborted).toBe(false);
    const late = keeper(-ttl);
    late.keeper.stop();
    expect(lostOutcome(late.keeper.signal)).toBe("key-expired");
  });

  it("keeps a lease whose touches succeed for as long as the claim runs", async () => {
    const { timers, touches, keeper: lease } = keeper();
    for (let i = 0; i < 30; i++) {
      await timers.advance(third);
      touches[i]?.answer(fencedOutcome.applied);
    }
    await timers.advance(0);
    expect(touches).toHaveLength(30);
    expect(lease.signal.aborted).toBe(false);
    lease.stop();
    // The shared queue's timer finds nothing left and is not set again.
    await timers.advance(ttl);
    expect(timers.pending).toBe(0);
    expect(touches).toHaveLength(30);
  });

  it("loses, without touching, a lease that ran out while the event loop was blocked", async () => {
    const { timers, touches, keeper: lease } = keeper();
    timers.jump(ttl);
    await timers.advance(0);
    expect(lostOutcome(lease.signal)).toBe("key-expired");
    expect(touches).toHaveLength(0);
  });

  it("aborts on settling when the lease ran out before any timer could run", () => {
    const { timers, keeper: lease } = keeper();
    timers.jump(ttl);
    lease.stop();
    expect(lostOutcome(lease.signal)).toBe("key-expired");
  });

  it.each(["applied", "fencing-mismatch", "key-expired", "an error"] as const)(
    "leaves a stopped lease alone when a touch in flight then answers %s",
    async (answer) => {
      const { timers, touches, keeper: lease } = keeper();
      await timers.advance(third);
      lease.stop();
      const endsAt = lease.leaseEndsAt;
      touches[0]?.answer(
        answer === "an error"
          ? new StoreError("connection", "touch", "connection reset")
          : fencedOutcome[answer],
      );
      await timers.advance(ttl * 3);
      expect(lease.signal.aborted).toBe(false);
      expect(lease.leaseEndsAt).toBe(endsAt);
      expect(touches).toHaveLength(1);
      expect(timers.pending).toBe(0);
    },
  );
});
