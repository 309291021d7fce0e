// A claim the store reports lost must abort the side effect at once, not when the local lease
// would have ended: these leases are long enough that the deadline cannot explain an abort.
import { describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";

const leaseTtlMs = 3000;
const request = { operation: "POST /orders", body: "{}" };

/** A memory store that counts touches, and runs each through `touch` when given. */
function countingStore(touch?: IdempotencyStore["touch"]): {
  store: IdempotencyStore;
  memory: MemoryStore;
  touches: () => number;
} {
  const memory = new MemoryStore();
  let touches = 0;
  const store: IdempotencyStore = {
    tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
    complete: (key, entry, token, ttl) => memory.complete(key, entry, token, ttl),
    touch: (key, token, ttl) => {
      touches++;
      return touch === undefined ? memory.touch(key, token, ttl) : touch(key, token, ttl);
    },
    remove: (key, token) => memory.remove(key, token),
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
  return { store, memory, touches: () => touches };
}

interface Abort {
  readonly reason: unknown;
  /** Milliseconds from the claim to the abort. */
  readonly afterMs: number;
  /** Touches sent by then. */
  readonly touches: number;
}

/**
 * Runs a side effect that waits for its signal, takes the key from under it with `takeOver`
 * once it runs, and reports the abort.
 */
async function abortAfter(
  takeOver: (memory: MemoryStore, key: IdempotencyKey) => Promise<void>,
): Promise<{ abort: Abort; outcome: unknown }> {
  const { store, memory, touches } = countingStore();
  const idempotency = new Idempotency({ store, leaseTtlMs });
  const key = IdempotencyKey.random();
  const claimedAt = Date.now();
  let abort: Abort | undefined;
  const outcome = await idempotency
    .execute(key, request, async ({ signal }) => {
      await takeOver(memory, key);
      await new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          abort = { reason: signal.reason, afterMs: Date.now() - claimedAt, touches: touches() };
          resolve();
        });
        // A keeper that never aborts fails the test, not the run.
        void delay(leaseTtlMs * 2).then(resolve);
      });
      return "late";
    })
    .then(
      (result) => result,
      (error: unknown) => error,
    );
  if (abort === undefined) throw new Error("the signal never aborted");
  return { abort, outcome };
}

describe("LeaseKeeper", () => {
  it("aborts at the first touch that finds the key re-claimed, well before the lease ends", async () => {
    const { abort, outcome } = await abortAfter(async (memory, key) => {
      // An operator purge, then another caller's claim.
      await memory.purge(key);
      const other = await new Idempotency({ store: memory }).claim(key, request);
      expect(other.kind).toBe("claimed");
    });
    expect(abort.reason).toBeInstanceOf(ClaimLostError);
    expect((abort.reason as ClaimLostError).outcome).toBe("fencing-mismatch");
    // The first touch goes out a third into the lease; the deadline would fire at its end.
    expect(abort.touches).toBe(1);
    expect(abort.afterMs).toBeLessThan(leaseTtlMs * (2 / 3));
    expect(outcome).toBeInstanceOf(ClaimLostError);
    expect((outcome as ClaimLostError).outcome).toBe("fencing-mismatch");
  });

  it("aborts at the first touch that finds the key gone, well before the lease ends", async () => {
    const { abort, outcome } = await abortAfter(async (memory, key) => {
      await memory.purge(key);
    });
    expect(abort.reason).toBeInstanceOf(ClaimLostError);
    expect((abort.reason as ClaimLostError).outcome).toBe("key-expired");
    expect(abort.touches).toBe(1);
    expect(abort.afterMs).toBeLessThan(leaseTtlMs * (2 / 3));
    expect(outcome).toBeInstanceOf(ClaimLostError);
  });

  it("aborts when the lease ends while every touch fails and the side effect still runs", async () => {
    const lease = 300;
    const { store, touches } = countingStore(async () => {
      throw new StoreError("connection", "touch", "connection refused");
    });
    const idempotency = new Idempotency({ store, leaseTtlMs: lease });
    const claimedAt = Date.now();
    let abortedAfterMs: number | undefined;
    let reason: unknown;
    await idempotency
      .execute(IdempotencyKey.random(), request, async ({ signal }) => {
        await new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            abortedAfterMs = Date.now() - claimedAt;
            reason = signal.reason;
            resolve();
          });
          void delay(lease * 4).then(resolve);
        });
        return "late";
      })
      .catch(() => undefined);
    expect(reason).toBeInstanceOf(ClaimLostError);
    expect((reason as ClaimLostError).outcome).toBe("key-expired");
    expect(abortedAfterMs).toBeGreaterThanOrEqual(lease - 5);
    expect(abortedAfterMs).toBeLessThan(lease * 2);
    // A touch every third of the lease: two failed before it ended.
    expect(touches()).toBeGreaterThanOrEqual(2);
    expect(touches()).toBeLessThan(10);
  });

  it("extends a lease with a touch every third of it", async () => {
    const lease = 600;
    const { store, touches } = countingStore();
    const idempotency = new Idempotency({ store, leaseTtlMs: lease });
    const outcome = await idempotency.execute(
      IdempotencyKey.random(),
      request,
      async ({ signal }) => {
        await delay(1100);
        expect(signal.aborted).toBe(false);
        return "slow";
      },
    );
    expect(outcome.kind).toBe("executed");
    // At 200, 400, ... 1000 ms: five, give or take a late timer.
    expect(touches()).toBeGreaterThanOrEqual(3);
    expect(touches()).toBeLessThanOrEqual(6);
  });

  it("leaves a settled claim alone: a touch in flight when it settles changes nothing, and no more follow", async () => {
    const lease = 300;
    for (const answer of ["fails", "reports loss"] as const) {
      const { store, memory, touches } = countingStore(async (key, token, ttl) => {
        await delay(100);
        if (answer === "fails") throw new StoreError("connection", "touch", "connection reset");
        return memory.touch(key, token, ttl);
      });
      const idempotency = new Idempotency({ store, leaseTtlMs: lease });
      let signal: AbortSignal | undefined;
      const outcome = await idempotency.execute(
        IdempotencyKey.random(),
        request,
        async (context) => {
          signal = context.signal;
          // The first touch goes out at 100 ms and answers at 200 ms, after the completion.
          await delay(150);
          return "done";
        },
      );
      expect(outcome.kind, answer).toBe("executed");
      await delay(lease * 1.5);
      expect(touches(), answer).toBe(1);
      expect(signal?.aborted, answer).toBe(false);
    }
  });

  it("aborts when a claim settles after its lease ran out while the event loop was blocked", async () => {
    const lease = 100;
    const { store } = countingStore();
    const idempotency = new Idempotency({ store, leaseTtlMs: lease });
    let signal: AbortSignal | undefined;
    const outcome = await idempotency
      .execute(IdempotencyKey.random(), request, (context) => {
        signal = context.signal;
        const until = Date.now() + lease * 2;
        while (Date.now() < until) {
          // Blocked: no timer of the lease keeper can run.
        }
        return "late";
      })
      .then(
        (result) => result,
        (error: unknown) => error,
      );
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(ClaimLostError);
    expect((signal?.reason as ClaimLostError).outcome).toBe("key-expired");
    expect(outcome).toBeInstanceOf(ClaimLostError);
  });
});
