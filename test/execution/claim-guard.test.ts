// ClaimGuard: settling once, abandoning, and completing through store failures. Written from
// StrykerJS's surviving mutants of claim-guard.ts (test/mutation-report.md).
import { describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import type { ClaimGuard } from "../../src/execution/claim-guard.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";

const request = { operation: "POST /payments", body: "{}" };

/** A memory store whose `complete` throws the errors of `failures`, one per call, first. */
function failingCompletions(failures: Error[]): {
  store: IdempotencyStore;
  memory: MemoryStore;
  completions: number[];
  touches: () => number;
} {
  const memory = new MemoryStore();
  const completions: number[] = [];
  let touches = 0;
  const store: IdempotencyStore = {
    tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
    complete: async (key, entry, token, ttl) => {
      completions.push(Date.now());
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return memory.complete(key, entry, token, ttl);
    },
    touch: (key, token, ttl) => {
      touches++;
      return memory.touch(key, token, ttl);
    },
    remove: (key, token) => memory.remove(key, token),
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
  return { store, memory, completions, touches: () => touches };
}

async function claimGuard(idempotency: Idempotency, key: IdempotencyKey): Promise<ClaimGuard> {
  const claim = await idempotency.claim(key, request);
  if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${claim.kind}`);
  return claim.guard;
}

const transient = () => new StoreError("connection", "complete", "connection reset");

describe("ClaimGuard", () => {
  const settlements = ["complete", "release", "abandon"] as const;
  const settle = (guard: ClaimGuard, how: (typeof settlements)[number]): Promise<unknown> =>
    how === "complete"
      ? guard.complete("done")
      : how === "release"
        ? guard.release()
        : Promise.resolve().then(() => {
            guard.abandon();
          });

  it.each(settlements)(
    "refuses to settle again after %s, naming the second settlement",
    async (first) => {
      for (const second of settlements) {
        const guard = await claimGuard(
          new Idempotency({ store: new MemoryStore() }),
          IdempotencyKey.random(),
        );
        await settle(guard, first);
        expect(guard.settled).toBe(true);
        const error = await settle(guard, second).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error, `${first} then ${second}`).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe("guard");
        expect((error as InvalidArgumentError).message).toBe(
          `guard: ${second}: the claim is already settled`,
        );
      }
    },
  );

  it("abandon stops extending the lease: the key stays claimed until the lease ends, then a retry runs", async () => {
    const { store, touches } = failingCompletions([]);
    const idempotency = new Idempotency({ store, leaseTtlMs: 300 });
    const key = IdempotencyKey.random();
    const guard = await claimGuard(idempotency, key);
    guard.abandon();
    expect((await idempotency.claim(key, request)).kind).toBe("in-flight");
    await delay(450);
    expect(touches()).toBe(0);
    expect(guard.signal.aborted).toBe(false);
    const retry = await idempotency.claim(key, request);
    expect(retry.kind).toBe("claimed");
  });

  it("retries a completion through transient failures, backing off from 20 ms and doubling", async () => {
    const { store, memory, completions } = failingCompletions([
      transient(),
      transient(),
      transient(),
      transient(),
    ]);
    const idempotency = new Idempotency({ store, leaseTtlMs: 10_000 });
    const key = IdempotencyKey.random();
    const guard = await claimGuard(idempotency, key);
    const startedAt = Date.now();
    await guard.complete("stored");
    const tookMs = Date.now() - startedAt;
    expect(completions).toHaveLength(5);
    // 20 + 40 + 80 + 160 ms of back-off; timers never fire early, but may fire late.
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(1500);
    expect((await memory.get(key))?.entry.state).toBe("completed");
  });

  it("gives up at once on a failure that is not retryable", async () => {
    const failure = new StoreError("script", "complete", "script error", { retryable: false });
    const { store, completions } = failingCompletions([failure]);
    const guard = await claimGuard(
      new Idempotency({ store, leaseTtlMs: 10_000 }),
      IdempotencyKey.random(),
    );
    await expect(guard.complete("never stored")).rejects.toBe(failure);
    expect(completions).toHaveLength(1);
  });

  it("sends no completion once the next back-off would outlast the lease, and reports the claim lost", async () => {
    const leaseTtlMs = 400;
    const { store, completions } = failingCompletions(Array.from({ length: 100 }, transient));
    const idempotency = new Idempotency({ store, leaseTtlMs });
    const claimedAt = Date.now();
    const guard = await claimGuard(idempotency, IdempotencyKey.random());
    const error = await guard.complete("produced").then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    const gaveUpAt = Date.now();
    expect(error).toBeInstanceOf(ClaimLostError);
    expect((error as ClaimLostError).outcome).toBe("key-expired");
    expect((error as ClaimLostError).response?.text()).toBe("produced");
    expect((error as ClaimLostError).cause).toBeInstanceOf(StoreError);
    expect(completions.length).toBeGreaterThan(1);
    // The last back-off that fits ends by 300 ms; a late timer may push it a little further.
    const slackMs = 150;
    for (const sentAt of completions) expect(sentAt).toBeLessThan(claimedAt + leaseTtlMs + slackMs);
    expect(gaveUpAt).toBeLessThan(claimedAt + leaseTtlMs + slackMs);
  });
});
