// MemoryStore at the exact edges of its expiry and its limits, with an injected clock. Written
// from StrykerJS's surviving mutants of memory-store.ts (test/mutation-report.md).
import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../../src/core/cached-response.ts";
import { FencingToken } from "../../../src/core/fencing-token.ts";
import { Fingerprint } from "../../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../../src/core/idempotency-key.ts";
import type { InsertResult } from "../../../src/core/insert-result.ts";
import { InvalidArgumentError } from "../../../src/errors/invalid-argument-error.ts";
import { StoreClosedError } from "../../../src/errors/store-closed-error.ts";
import { delay } from "../../../src/utils/delay.ts";
import { MemoryStore, type MemoryStoreOptions } from "../../../src/stores/memory/memory-store.ts";
import { minMaxBytes, recordBytes } from "../../../src/stores/memory/record-size.ts";

const fingerprint = Fingerprint.fromHex("7".repeat(32));
const entry = () => IdempotencyEntry.new(fingerprint);
const lease = (ttlMs = 1000) => ({ leaseTtlMs: ttlMs });

function clocked(options: MemoryStoreOptions = {}) {
  const time = { now: 1_000_000 };
  const store = new MemoryStore({ clock: { now: () => time.now }, ...options });
  return { store, time };
}

function claimed(result: InsertResult): Extract<InsertResult, { kind: "claimed" }> {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}

/** A completed entry whose record under `key` counts exactly `bytes`. */
function completedOf(key: IdempotencyKey, bytes: number) {
  const empty = entry().complete(
    new CachedResponse({ status: 200, headers: [], body: new Uint8Array(0) }),
  );
  const body = new Uint8Array(bytes - recordBytes(key.value, empty));
  const completed = entry().complete(new CachedResponse({ status: 200, headers: [], body }));
  expect(recordBytes(key.value, completed)).toBe(bytes);
  return completed;
}

describe("MemoryStore boundaries", () => {
  it("counts an entry as expired from the very millisecond its expiry names", async () => {
    const { store, time } = clocked();
    const key = IdempotencyKey.random();
    const claim = claimed(await store.tryInsert(key, entry(), lease(100)));
    time.now += 99;
    expect((await store.get(key))?.entry.state).toBe("processing");
    time.now += 1;
    expect(await store.get(key)).toBeUndefined();
    expect((await store.touch(key, claim.fencingToken, { leaseTtlMs: 100 })).kind).toBe(
      "key-expired",
    );
    expect((await store.remove(key, claim.fencingToken)).kind).toBe("key-expired");
    const late = claim.entry.complete(CachedResponse.from("late"));
    expect(
      (await store.complete(key, late, claim.fencingToken, { retentionTtlMs: 100 })).kind,
    ).toBe("key-expired");
    claimed(await store.tryInsert(key, entry(), lease()));
  });

  it("purges a record expiring this very millisecond as no longer live", async () => {
    const { store, time } = clocked({ sweepIntervalMs: 0 });
    const live = IdempotencyKey.random();
    const ending = IdempotencyKey.random();
    await store.tryInsert(live, entry(), lease(101));
    await store.tryInsert(ending, entry(), lease(100));
    time.now += 100;
    expect(await store.purge(live)).toBe(true);
    expect(await store.purge(ending)).toBe(false);
    expect(await store.purge(ending)).toBe(false);
  });

  it("admits a claim that fills maxBytes exactly", async () => {
    const { store } = clocked({ maxBytes: minMaxBytes });
    // Two claims of 320 + 2 * 96 = 512 bytes each.
    const first = IdempotencyKey.parse("a".repeat(96));
    const second = IdempotencyKey.parse("b".repeat(96));
    expect(recordBytes(first.value, entry()) * 2).toBe(minMaxBytes);
    claimed(await store.tryInsert(first, entry(), lease()));
    claimed(await store.tryInsert(second, entry(), lease()));
    expect(store.bytes).toBe(minMaxBytes);
  });

  it("stores a completion that fills maxBytes exactly without dropping an expired entry", async () => {
    const maxBytes = 4096;
    const { store, time } = clocked({ maxBytes });
    const expired = IdempotencyKey.parse("expired");
    claimed(await store.tryInsert(expired, entry(), lease(10)));
    time.now += 20;
    const key = IdempotencyKey.parse("key");
    const claim = claimed(await store.tryInsert(key, entry(), lease()));
    const completed = completedOf(key, maxBytes - recordBytes(expired.value, entry()));
    expect(
      (await store.complete(key, completed, claim.fencingToken, { retentionTtlMs: 1000 })).kind,
    ).toBe("applied");
    expect(store.bytes).toBe(maxBytes);
    expect(store.size).toBe(2);
  });

  it("stores a completed record of exactly maxBytes, and refuses one byte more, saying why", async () => {
    const maxBytes = 4096;
    const { store } = clocked({ maxBytes });
    const key = IdempotencyKey.parse("exact");
    const claim = claimed(await store.tryInsert(key, entry(), lease()));
    const tooBig = completedOf(key, maxBytes + 1);
    const error = await store
      .complete(key, tooBig, claim.fencingToken, { retentionTtlMs: 1000 })
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(
      `counts ${maxBytes + 1} bytes, more than maxBytes (${maxBytes})`,
    );
    const exact = completedOf(key, maxBytes);
    expect(
      (await store.complete(key, exact, claim.fencingToken, { retentionTtlMs: 1000 })).kind,
    ).toBe("applied");
    expect(store.bytes).toBe(maxBytes);
  });

  it("copies a body that is a view into the start or the end of a larger buffer", async () => {
    const { store } = clocked();
    const buffer = new Uint8Array(16).map((_, index) => index);
    for (const body of [buffer.subarray(0, 4), buffer.subarray(12)]) {
      const key = IdempotencyKey.random();
      const claim = claimed(await store.tryInsert(key, entry(), lease()));
      const completed = claim.entry.complete(
        new CachedResponse({ status: 200, headers: [], body }),
      );
      await store.complete(key, completed, claim.fencingToken, { retentionTtlMs: 1000 });
      const stored = await store.get(key);
      if (stored?.entry.state !== "completed") throw new Error("expected completed");
      expect(Array.from(stored.entry.response.body)).toEqual(Array.from(body));
      expect(stored.entry.response.body.buffer.byteLength).toBe(4);
    }
  });

  it("refuses limits that are not integers of at least their minimum, saying which", () => {
    const bad: [keyof MemoryStoreOptions, unknown, string][] = [
      ["maxEntries", 0, "at least 1"],
      ["maxEntries", -1, "at least 1"],
      ["maxEntries", 1.5, "at least 1"],
      ["maxEntries", Number.NaN, "at least 1"],
      ["maxEntries", "10", "at least 1"],
      ["maxBytes", minMaxBytes - 1, `at least ${minMaxBytes}`],
      ["maxBytes", Number.NEGATIVE_INFINITY, `at least ${minMaxBytes}`],
      ["sweepIntervalMs", -1, "a non-negative integer"],
      ["sweepIntervalMs", 0.5, "a non-negative integer"],
    ];
    for (const [option, value, expected] of bad) {
      let thrown: unknown;
      try {
        new MemoryStore({ [option]: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, `${option}: ${String(value)}`).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).argument).toBe(option);
      expect((thrown as Error).message).toContain(expected);
    }
  });

  it("sweeps nothing when sweeping is off", async () => {
    const { store, time } = clocked({ sweepIntervalMs: 0 });
    claimed(await store.tryInsert(IdempotencyKey.random(), entry(), lease(10)));
    time.now += 20;
    await delay(30);
    expect(store.size).toBe(1);
    expect(store.sweep()).toBe(1);
    expect(store.size).toBe(0);
  });

  it("names the operation a closed store refuses, also when closed by `await using`", async () => {
    const key = IdempotencyKey.random();
    let closed: MemoryStore;
    {
      await using store = new MemoryStore();
      closed = store;
      claimed(await store.tryInsert(key, entry(), lease()));
    }
    const token = FencingToken.from(1);
    const completed = entry().complete(CachedResponse.from("x"));
    const operations: [string, () => Promise<unknown>][] = [
      ["tryInsert", () => closed.tryInsert(key, entry(), lease())],
      ["complete", () => closed.complete(key, completed, token, { retentionTtlMs: 1000 })],
      ["touch", () => closed.touch(key, token, { leaseTtlMs: 1000 })],
      ["remove", () => closed.remove(key, token)],
      ["get", () => closed.get(key)],
      ["purge", () => closed.purge(key)],
    ];
    for (const [name, operation] of operations) {
      const error = await operation().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, name).toBeInstanceOf(StoreClosedError);
      expect((error as Error).message).toBe(`${name}: the store is closed`);
    }
    expect(closed.size).toBe(0);
  });
});
