// A claim the store reports lost must abort the side effect at once, not when the local lease
// would have ended: these leases are long enough that the deadline cannot explain an abort.
import { describe, expect, it } from "vitest";
import { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { ClaimLostError } from "../errors/claim-lost-error.ts";
import { MemoryStore } from "../stores/memory/memory-store.ts";
import { delay } from "../utils/delay.ts";
import { Idempotency } from "./idempotency.ts";

const leaseTtlMs = 3000;
const request = { operation: "POST /orders", body: "{}" };

/** A memory store that counts touches. */
function countingStore(): { store: IdempotencyStore; memory: MemoryStore; touches: () => number } {
  const memory = new MemoryStore();
  let touches = 0;
  const store: IdempotencyStore = {
    tryInsert: (key, entry) => memory.tryInsert(key, entry),
    complete: (key, entry, token, ttl) => memory.complete(key, entry, token, ttl),
    touch: (key, token, ttl) => {
      touches++;
      return memory.touch(key, token, ttl);
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
});
