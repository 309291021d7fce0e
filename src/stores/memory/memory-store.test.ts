import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../core/cached-response.ts";
import { Fingerprint } from "../../core/fingerprint.ts";
import { IdempotencyEntry } from "../../core/idempotency-entry.ts";
import { IdempotencyKey } from "../../core/idempotency-key.ts";
import { StoreCapacityError } from "../../errors/store-capacity-error.ts";
import { StoreClosedError } from "../../errors/store-closed-error.ts";
import { runStoreConformance } from "../../testing/store-conformance.ts";
import { MemoryStore } from "./memory-store.ts";

let now = Date.now();
const clock = { now: () => now };

runStoreConformance({
  name: "MemoryStore (injected clock)",
  createStore: () => new MemoryStore({ clock }),
  disposeStore: (store) => store.close(),
  advanceTime: (ms) => {
    now += ms;
  },
});

runStoreConformance({
  name: "MemoryStore (real time)",
  createStore: () => new MemoryStore(),
  disposeStore: (store) => store.close(),
  propertyRuns: 10,
});

const fingerprint = Fingerprint.fromHex("0".repeat(32));
const entry = (ttlMs = 1000) => IdempotencyEntry.new(fingerprint, { ttlMs });

describe("MemoryStore", () => {
  it("never evicts a live claim; evicts expired then completed entries, oldest first", async () => {
    let time = 0;
    await using store = new MemoryStore({ maxEntries: 2, clock: { now: () => time } });
    const a = IdempotencyKey.parse("a");
    const b = IdempotencyKey.parse("b");
    const c = IdempotencyKey.parse("c");
    const claimA = await store.tryInsert(a, entry());
    await store.tryInsert(b, entry());
    await expect(store.tryInsert(c, entry())).rejects.toBeInstanceOf(StoreCapacityError);
    if (claimA.kind !== "claimed") throw new Error("expected a claim");
    await store.complete(a, claimA.entry.complete(CachedResponse.from("a")), claimA.fencingToken, {
      ttlMs: 10_000,
    });
    expect((await store.tryInsert(c, entry())).kind).toBe("claimed");
    expect(await store.get(a)).toBeUndefined();
    expect((await store.get(b))?.entry.state).toBe("processing");
    time += 1001; // b and c expire
    expect((await store.tryInsert(a, entry())).kind).toBe("claimed");
    expect(store.size).toBeLessThanOrEqual(2);
  });

  it("sweeps expired entries and its timer does not keep the process alive", async () => {
    let time = 0;
    await using store = new MemoryStore({ clock: { now: () => time }, sweepIntervalMs: 5 });
    await store.tryInsert(IdempotencyKey.parse("x"), entry(10));
    time += 11;
    for (let waited = 0; store.size > 0 && waited < 2000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(store.size).toBe(0);
  });

  it("refuses work after close", async () => {
    const store = new MemoryStore();
    await store.close();
    await expect(store.tryInsert(IdempotencyKey.random(), entry())).rejects.toBeInstanceOf(
      StoreClosedError,
    );
  });
});
