import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CachedResponse } from "../../../src/core/cached-response.ts";
import { Fingerprint } from "../../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../../src/core/idempotency-key.ts";
import type { InsertResult } from "../../../src/core/insert-result.ts";
import { EntryStateError } from "../../../src/errors/entry-state-error.ts";
import { IdempotencyError } from "../../../src/errors/idempotency-error.ts";
import { InvalidArgumentError } from "../../../src/errors/invalid-argument-error.ts";
import { StoreCapacityError } from "../../../src/errors/store-capacity-error.ts";
import { StoreClosedError } from "../../../src/errors/store-closed-error.ts";
import { runStoreConformance } from "../../../src/testing/store-conformance.ts";
import {
  defaultMaxBytes,
  defaultMaxEntries,
  MemoryStore,
} from "../../../src/stores/memory/memory-store.ts";
import { maxClaimBytes, minMaxBytes, recordBytes } from "../../../src/stores/memory/record-size.ts";

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
const entry = () => IdempotencyEntry.new(fingerprint);
const lease = (ttlMs = 1000) => ({ leaseTtlMs: ttlMs });
const kib100 = new Uint8Array(100 * 1024);
const response100KiB = new CachedResponse({
  status: 200,
  headers: [["content-type", "application/octet-stream"]],
  body: kib100,
});

function claimed(result: InsertResult): Extract<InsertResult, { kind: "claimed" }> {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}

/** A store on a clock the test moves. */
function clockedStore(options: { maxEntries?: number; maxBytes?: number } = {}) {
  const clock = { time: 1_000_000, now: () => clock.time };
  const store = new MemoryStore({ ...options, clock, sweepIntervalMs: 0 });
  return { store, clock };
}

/** Claims and completes `key` with `response`, retained for `ttlMs`. */
async function completeKey(
  store: MemoryStore,
  key: IdempotencyKey,
  response: CachedResponse,
  ttlMs = 86_400_000,
): Promise<void> {
  const claim = claimed(await store.tryInsert(key, entry(), lease()));
  const outcome = await store.complete(key, claim.entry.complete(response), claim.fencingToken, {
    retentionTtlMs: ttlMs,
  });
  expect(outcome.kind).toBe("applied");
}

async function capacityError(promise: Promise<unknown>): Promise<StoreCapacityError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StoreCapacityError);
  return error as StoreCapacityError;
}

describe("MemoryStore options", () => {
  it("validates maxEntries, maxBytes and sweepIntervalMs", () => {
    const bad: [string, unknown][] = [
      ["maxEntries", 0],
      ["maxEntries", -1],
      ["maxEntries", 1.5],
      ["maxEntries", Number.NaN],
      ["maxEntries", Number.NEGATIVE_INFINITY],
      ["maxEntries", "10"],
      ["maxEntries", null],
      ["maxBytes", 0],
      ["maxBytes", minMaxBytes - 1],
      ["maxBytes", 2 ** 53],
      ["maxBytes", "1mb"],
      ["sweepIntervalMs", -1],
    ];
    for (const [option, value] of bad) {
      let thrown: unknown;
      try {
        new MemoryStore({ [option]: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, `${option}: ${String(value)}`).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).argument).toBe(option);
    }
    for (const options of [
      { maxEntries: 1, maxBytes: minMaxBytes },
      { maxEntries: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY },
    ]) {
      new MemoryStore({ ...options, sweepIntervalMs: 0 });
    }
  });

  it("bounds entries by default", async () => {
    expect(defaultMaxEntries).toBe(100_000);
    const { store } = clockedStore();
    // Short keys: 100 000 claims count far less than the default maxBytes.
    for (let index = 0; index < defaultMaxEntries; index++) {
      claimed(await store.tryInsert(IdempotencyKey.parse(`k${index}`), entry(), lease(60_000)));
    }
    expect(store.bytes).toBeLessThan(defaultMaxBytes);
    const error = await capacityError(
      store.tryInsert(IdempotencyKey.parse("one-more"), entry(), lease()),
    );
    expect(error.limit).toBe("entries");
    expect(error.max).toBe(defaultMaxEntries);
    expect(store.size).toBe(defaultMaxEntries);
    await store.close();
  });

  it("bounds bytes by default: 2 000 keys with 100 KiB bodies stop near 64 MiB", async (context) => {
    expect(defaultMaxBytes).toBe(64 * 1024 * 1024);
    const response = () => CachedResponse.from(kib100.slice());
    // What the store should admit: a claim while it fits; its completion whatever it counts.
    let expectedBytes = 0;
    let expectedStored = 0;
    for (let index = 0; index < 2000; index++) {
      const id = `order-${index}`;
      if (expectedBytes + recordBytes(id, entry()) > defaultMaxBytes) continue;
      expectedBytes += recordBytes(id, entry().complete(response()));
      expectedStored++;
    }
    const rssBefore = process.memoryUsage().rss;
    await using store = new MemoryStore();
    let refused = 0;
    for (let index = 0; index < 2000; index++) {
      const key = IdempotencyKey.parse(`order-${index}`);
      try {
        // Each response owns its body, as the HTTP layer's do.
        await completeKey(store, key, response());
      } catch (error) {
        expect(error).toBeInstanceOf(StoreCapacityError);
        expect((error as StoreCapacityError).limit).toBe("bytes");
        refused++;
      }
    }
    expect(store.size).toBe(expectedStored);
    expect(store.bytes).toBe(expectedBytes);
    expect(refused).toBe(2000 - expectedStored);
    // At most the last admitted completion goes past the bound (see maxBytes).
    const perRecord = recordBytes("order-1999", entry().complete(response()));
    expect(store.bytes).toBeLessThanOrEqual(defaultMaxBytes + perRecord);
    expect(store.size).toBeLessThan(700);
    // Shown, not asserted: RSS depends on the machine and the garbage collector.
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    await context.annotate(
      `${store.size} of 2000 responses of 100 KiB stored, ${(store.bytes / 2 ** 20).toFixed(1)} MiB counted; RSS grew ${grownMiB.toFixed(0)} MiB`,
    );
  });
});

describe("MemoryStore at capacity", () => {
  it("never evicts a live claim or a retained response; fails retryably instead", async () => {
    const { store, clock } = clockedStore({ maxEntries: 2 });
    const a = IdempotencyKey.parse("a");
    const b = IdempotencyKey.parse("b");
    const c = IdempotencyKey.parse("c");
    await completeKey(store, a, CachedResponse.from("a"), 10_000);
    claimed(await store.tryInsert(b, entry(), lease(1000)));
    const error = await capacityError(store.tryInsert(c, entry(), lease()));
    expect(error).toBeInstanceOf(IdempotencyError);
    expect(error.code).toBe("ERR_IDEMPOTENT_STORE_CAPACITY");
    expect(error.retryable).toBe(true);
    expect(error.limit).toBe("entries");
    expect(error.max).toBe(2);
    expect((await store.get(a))?.entry.state).toBe("completed");
    expect((await store.get(b))?.entry.state).toBe("processing");

    clock.time += 1000; // b's lease ends; a is still retained
    claimed(await store.tryInsert(c, entry(), lease(1000)));
    const replay = await store.tryInsert(a, entry(), lease());
    expect(replay.kind === "exists" && replay.entry.state).toBe("completed");
    expect(store.size).toBe(2);

    clock.time += 9000; // a's retention and c's lease end
    claimed(await store.tryInsert(b, entry(), lease()));
    claimed(await store.tryInsert(a, entry(), lease()));
    expect(store.size).toBe(2);
    await store.close();
  });

  it("drops expired entries before refusing, whatever their insertion order", async () => {
    // Inserted first but retained longest: a sweep in insertion order would have to pass it.
    const { store, clock } = clockedStore({ maxEntries: 4 });
    const kept = IdempotencyKey.parse("kept");
    await completeKey(store, kept, CachedResponse.from("kept"), 60_000);
    for (const name of ["x", "y", "z"]) {
      claimed(await store.tryInsert(IdempotencyKey.parse(name), entry(), lease(100)));
    }
    clock.time += 100;
    for (const name of ["p", "q", "r"]) {
      claimed(await store.tryInsert(IdempotencyKey.parse(name), entry(), lease(1000)));
      expect(store.size).toBe(4); // one expired entry dropped per claim, no more
    }
    await capacityError(store.tryInsert(IdempotencyKey.parse("s"), entry(), lease()));
    expect((await store.get(kept))?.entry.state).toBe("completed");
    await store.close();
  });

  it("follows an entry's expiry when touch or complete moves it, earlier or later", async () => {
    const { store, clock } = clockedStore({ maxEntries: 2 });
    const [a, b, c] = ["a", "b", "c"].map((name) => IdempotencyKey.parse(name)) as [
      IdempotencyKey,
      IdempotencyKey,
      IdempotencyKey,
    ];
    // Later: a expired first until touched, so only b may go.
    const claimA = claimed(await store.tryInsert(a, entry(), lease(100)));
    claimed(await store.tryInsert(b, entry(), lease(200)));
    await store.touch(a, claimA.fencingToken, { leaseTtlMs: 1000 });
    clock.time += 300;
    claimed(await store.tryInsert(c, entry(), lease(1000)));
    expect((await store.get(a))?.entry.state).toBe("processing");
    // Earlier: c is cut short by a touch, so it goes before a.
    const claimC = await store.tryInsert(c, entry(), lease());
    expect(claimC.kind).toBe("exists");
    await store.purge(c);
    const claimC2 = claimed(await store.tryInsert(c, entry(), lease(5000)));
    await store.touch(c, claimC2.fencingToken, { leaseTtlMs: 10 });
    clock.time += 10;
    claimed(await store.tryInsert(b, entry(), lease(1000)));
    expect((await store.get(a))?.entry.state).toBe("processing");
    // Later again, by completion: a's response is retained past b's lease.
    await store.complete(a, claimA.entry.complete(CachedResponse.from("a")), claimA.fencingToken, {
      retentionTtlMs: 60_000,
    });
    clock.time += 1000;
    claimed(await store.tryInsert(c, entry(), lease()));
    expect((await store.get(a))?.entry.state).toBe("completed");
    await store.close();
  });

  it("honours maxBytes with 100 KiB bodies, then recovers as responses expire", async () => {
    const perRecord = recordBytes("key-0", entry().complete(response100KiB));
    const maxBytes = 10 * perRecord + 500;
    const { store, clock } = clockedStore({ maxBytes, maxEntries: Number.POSITIVE_INFINITY });
    for (let index = 0; index < 10; index++) {
      await completeKey(store, IdempotencyKey.parse(`key-${index}`), response100KiB, 5000);
      clock.time += 100;
    }
    expect(store.bytes).toBe(10 * perRecord);
    // A claim counts 330 bytes here: it fits in the 500 left, a second does not.
    claimed(await store.tryInsert(IdempotencyKey.parse("key-a"), entry(), lease(60_000)));
    const error = await capacityError(
      store.tryInsert(IdempotencyKey.parse("key-b"), entry(), lease()),
    );
    expect(error.limit).toBe("bytes");
    expect(error.max).toBe(maxBytes);
    expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    for (let index = 0; index < 10; index++) {
      expect((await store.get(IdempotencyKey.parse(`key-${index}`)))?.entry.state).toBe(
        "completed",
      );
    }
    clock.time += 5000 - 1000 + 1; // the first of the responses has expired
    claimed(await store.tryInsert(IdempotencyKey.parse("key-b"), entry(), lease()));
    expect(store.size).toBe(11);
    expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    await store.close();
  });

  it("stores a completion past maxBytes rather than lose it, and admits no claim until under", async () => {
    const perResponse = recordBytes("k1", entry().complete(response100KiB));
    const maxBytes = perResponse + 2000;
    const { store, clock } = clockedStore({ maxBytes });
    const k1 = IdempotencyKey.parse("k1");
    const k2 = IdempotencyKey.parse("k2");
    const first = claimed(await store.tryInsert(k1, entry(), lease(60_000)));
    const second = claimed(await store.tryInsert(k2, entry(), lease(60_000)));
    const complete = (key: IdempotencyKey, claim: typeof first, ttlMs: number) =>
      store.complete(key, claim.entry.complete(response100KiB), claim.fencingToken, {
        retentionTtlMs: ttlMs,
      });
    expect((await complete(k1, first, 1000)).kind).toBe("applied");
    // Both side effects ran; refusing the second response would let it run again.
    expect((await complete(k2, second, 5000)).kind).toBe("applied");
    expect(store.bytes).toBe(2 * perResponse);
    expect(store.bytes).toBeGreaterThan(maxBytes);
    const error = await capacityError(
      store.tryInsert(IdempotencyKey.parse("k3"), entry(), lease()),
    );
    expect(error.limit).toBe("bytes");
    clock.time += 1000; // k1's response expires: back under the bound
    claimed(await store.tryInsert(IdempotencyKey.parse("k3"), entry(), lease()));
    expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    await store.close();
  });

  it("drops expired entries to keep a completion within maxBytes", async () => {
    const perResponse = recordBytes("old", entry().complete(response100KiB));
    const { store, clock } = clockedStore({ maxBytes: perResponse + 1000 });
    await completeKey(store, IdempotencyKey.parse("old"), response100KiB, 1000);
    const key = IdempotencyKey.parse("new");
    const claim = claimed(await store.tryInsert(key, entry(), lease(60_000)));
    clock.time += 1000;
    const outcome = await store.complete(
      key,
      claim.entry.complete(response100KiB),
      claim.fencingToken,
      { retentionTtlMs: 60_000 },
    );
    expect(outcome.kind).toBe("applied");
    expect(store.size).toBe(1);
    expect(store.bytes).toBe(recordBytes("new", entry().complete(response100KiB)));
    await store.close();
  });

  it("refuses a response larger than maxBytes alone; the claim stays processing", async () => {
    const { store } = clockedStore({ maxBytes: 64 * 1024 });
    const key = IdempotencyKey.parse("big");
    const claim = claimed(await store.tryInsert(key, entry(), lease(30_000)));
    const bytes = store.bytes;
    let thrown: unknown;
    try {
      await store.complete(key, claim.entry.complete(response100KiB), claim.fencingToken, {
        retentionTtlMs: 60_000,
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).argument).toBe("entry");
    expect((await store.get(key))?.entry.state).toBe("processing");
    expect(store.bytes).toBe(bytes);
    await store.close();
  });

  it("keeps a copy of a body that is a view into a larger buffer, so it pins no more", async () => {
    const { store } = clockedStore();
    const pooled = Buffer.concat([Buffer.from("small "), Buffer.from("body")]);
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength); // Node's 8 KiB pool
    const own = new Uint8Array([1, 2, 3]);
    for (const [name, body] of [
      ["pooled", pooled],
      ["own", own],
    ] as const) {
      const key = IdempotencyKey.parse(name);
      const response = new CachedResponse({ status: 200, headers: [["x-a", "1"]], body });
      await completeKey(store, key, response);
      const stored = await store.get(key);
      if (stored?.entry.state !== "completed") throw new Error("expected completed");
      const kept = stored.entry.response.body;
      expect(Buffer.from(kept).equals(Buffer.from(body))).toBe(true);
      expect(kept.buffer.byteLength).toBe(body.byteLength);
      expect(stored.entry.response.headers).toEqual([["x-a", "1"]]);
      // A body that owns its buffer is kept as given, without a copy.
      expect(kept === body).toBe(name === "own");
    }
    await store.close();
  });

  it("counts bytes as documented", () => {
    const claim = entry();
    expect(recordBytes("abc", claim)).toBe(320 + 6);
    const response = new CachedResponse({
      status: 200,
      headers: [
        ["ab", "cde"],
        ["f", ""],
      ],
      body: new Uint8Array(1000),
    });
    expect(recordBytes("abc", claim.complete(response))).toBe(
      320 + 6 + 256 + 1000 + (128 + 10) + (128 + 2),
    );
    expect(maxClaimBytes).toBe(recordBytes("k".repeat(255), claim));
    expect(maxClaimBytes).toBeLessThanOrEqual(minMaxBytes);
  });

  it("keeps size and bytes exact through every operation", async () => {
    const { store, clock } = clockedStore();
    const a = IdempotencyKey.parse("a");
    const b = IdempotencyKey.parse("b");
    const claimA = claimed(await store.tryInsert(a, entry(), lease(100)));
    const claimB = claimed(await store.tryInsert(b, entry(), lease(100)));
    expect(store.bytes).toBe(2 * recordBytes("a", entry()));
    const completed = claimA.entry.complete(response100KiB);
    await store.complete(a, completed, claimA.fencingToken, { retentionTtlMs: 1000 });
    expect(store.bytes).toBe(recordBytes("a", completed) + recordBytes("b", entry()));
    await store.touch(b, claimB.fencingToken, { leaseTtlMs: 2000 });
    await store.remove(b, claimB.fencingToken);
    expect(store.bytes).toBe(recordBytes("a", completed));
    expect(await store.purge(a)).toBe(true);
    expect([store.size, store.bytes]).toEqual([0, 0]);
    claimed(await store.tryInsert(a, entry(), lease(100)));
    clock.time += 100;
    claimed(await store.tryInsert(a, entry(), lease(100))); // replaces the expired claim
    expect([store.size, store.bytes]).toEqual([1, recordBytes("a", entry())]);
    clock.time += 100;
    expect(store.sweep()).toBe(1);
    expect([store.size, store.bytes]).toEqual([0, 0]);
    await store.close();
  });
});

type BoundCommand =
  | { readonly type: "claim"; readonly key: number; readonly ttlMs: number }
  | {
      readonly type: "complete";
      readonly key: number;
      readonly ttlMs: number;
      readonly bodyBytes: number;
    }
  | { readonly type: "touch"; readonly key: number; readonly ttlMs: number }
  | { readonly type: "remove"; readonly key: number }
  | { readonly type: "purge"; readonly key: number }
  | { readonly type: "advance"; readonly ms: number }
  | { readonly type: "sweep" };

interface ModelRecord {
  state: "processing" | "completed";
  expiresAt: number;
  bytes: number;
  body: number;
}

describe("MemoryStore bounds, against a model", () => {
  const keyIndex = fc.nat({ max: 5 });
  const ttlMs = fc.integer({ min: 1, max: 40 }); // short: expiries cross often
  const command: fc.Arbitrary<BoundCommand> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ type: fc.constant("claim" as const), key: keyIndex, ttlMs }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constant("complete" as const),
        key: keyIndex,
        ttlMs,
        bodyBytes: fc.nat({ max: 900 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ type: fc.constant("touch" as const), key: keyIndex, ttlMs }),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant("remove" as const), key: keyIndex }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant("purge" as const), key: keyIndex }) },
    {
      weight: 2,
      arbitrary: fc.record({ type: fc.constant("advance" as const), ms: fc.nat({ max: 25 }) }),
    },
    { weight: 2, arbitrary: fc.record({ type: fc.constant("sweep" as const) }) },
  );

  it("keeps every live claim and retained response, and refuses only when nothing expired", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: minMaxBytes, max: 4000 }),
        fc.array(command, { minLength: 1, maxLength: 60 }),
        async (maxEntries, maxBytes, commands) => {
          const { store, clock } = clockedStore({ maxEntries, maxBytes });
          const keys = Array.from({ length: 8 }, (_, index) =>
            IdempotencyKey.parse(`key-${index}`),
          );
          const model = new Map<number, ModelRecord>();
          const tokens = new Map<number, Extract<InsertResult, { kind: "claimed" }>>();
          const live = () =>
            [...model.entries()].filter(([, record]) => record.expiresAt > clock.time);
          const liveBytes = () => live().reduce((sum, [, record]) => sum + record.bytes, 0);
          for (const [step, command] of commands.entries()) {
            const label = `step ${step}: ${JSON.stringify(command)}`;
            const now = clock.time;
            const current = "key" in command ? model.get(command.key) : undefined;
            const isLive = current !== undefined && current.expiresAt > now;
            switch (command.type) {
              case "claim": {
                const key = keys[command.key] as IdempotencyKey;
                const bytes = recordBytes(key.value, entry());
                const others = live().filter(([index]) => index !== command.key);
                const othersBytes = others.reduce((sum, [, record]) => sum + record.bytes, 0);
                const fits = others.length + 1 <= maxEntries && othersBytes + bytes <= maxBytes;
                let result: InsertResult | StoreCapacityError;
                try {
                  result = await store.tryInsert(key, entry(), lease(command.ttlMs));
                } catch (error) {
                  expect(error, label).toBeInstanceOf(StoreCapacityError);
                  result = error as StoreCapacityError;
                }
                if (isLive) {
                  expect(result instanceof StoreCapacityError ? "error" : result.kind, label).toBe(
                    "exists",
                  );
                } else if (fits) {
                  expect(result instanceof StoreCapacityError ? "error" : result.kind, label).toBe(
                    "claimed",
                  );
                  if (result instanceof StoreCapacityError || result.kind !== "claimed") break;
                  tokens.set(command.key, result);
                  model.set(command.key, {
                    state: "processing",
                    expiresAt: now + command.ttlMs,
                    bytes,
                    body: 0,
                  });
                  expect(store.bytes, label).toBeLessThanOrEqual(maxBytes);
                } else {
                  expect(result, label).toBeInstanceOf(StoreCapacityError);
                  const wanted = others.length + 1 > maxEntries ? "entries" : "bytes";
                  expect((result as StoreCapacityError).limit, label).toBe(wanted);
                  // A refused claim dropped every expired entry looking for room.
                  expect([store.size, store.bytes], label).toEqual([others.length, othersBytes]);
                }
                break;
              }
              case "complete": {
                const claim = tokens.get(command.key);
                if (claim === undefined) break;
                const key = keys[command.key] as IdempotencyKey;
                const completed = claim.entry.complete(
                  new CachedResponse({
                    status: 200,
                    headers: [],
                    body: new Uint8Array(command.bodyBytes),
                  }),
                );
                const bytes = recordBytes(key.value, completed);
                const owns = isLive && current.state === "processing";
                let outcome: string;
                try {
                  outcome = (
                    await store.complete(key, completed, claim.fencingToken, {
                      retentionTtlMs: command.ttlMs,
                    })
                  ).kind;
                } catch (error) {
                  expect(error, label).toBeInstanceOf(InvalidArgumentError);
                  outcome = "too-large";
                }
                if (!isLive) expect(outcome, label).toBe("key-expired");
                else if (!owns)
                  expect(outcome, label).toBe("applied"); // a repeated completion
                else if (bytes > maxBytes) expect(outcome, label).toBe("too-large");
                else {
                  expect(outcome, label).toBe("applied");
                  Object.assign(current, {
                    state: "completed",
                    expiresAt: now + command.ttlMs,
                    bytes,
                    body: command.bodyBytes,
                  });
                  expect(store.bytes, label).toBeLessThanOrEqual(Math.max(maxBytes, liveBytes()));
                }
                break;
              }
              case "touch": {
                const claim = tokens.get(command.key);
                if (claim === undefined) break;
                const outcome = await store.touch(
                  keys[command.key] as IdempotencyKey,
                  claim.fencingToken,
                  { leaseTtlMs: command.ttlMs },
                );
                const want = !isLive
                  ? "key-expired"
                  : current.state === "processing"
                    ? "applied"
                    : "fencing-mismatch";
                expect(outcome.kind, label).toBe(want);
                if (isLive && want === "applied") current.expiresAt = now + command.ttlMs;
                break;
              }
              case "remove": {
                const claim = tokens.get(command.key);
                if (claim === undefined) break;
                const outcome = await store.remove(
                  keys[command.key] as IdempotencyKey,
                  claim.fencingToken,
                );
                const want = !isLive
                  ? "key-expired"
                  : current.state === "processing"
                    ? "applied"
                    : "fencing-mismatch";
                expect(outcome.kind, label).toBe(want);
                if (want === "applied") model.delete(command.key);
                break;
              }
              case "purge":
                expect(await store.purge(keys[command.key] as IdempotencyKey), label).toBe(isLive);
                model.delete(command.key);
                break;
              case "advance":
                clock.time += command.ms;
                break;
              case "sweep":
                store.sweep();
                expect(store.size, label).toBe(live().length);
                expect(store.bytes, label).toBe(liveBytes());
                break;
            }
            // Whatever happened, every live entry of the model is still there, unchanged.
            for (const [index, record] of live()) {
              const stored = await store.get(keys[index] as IdempotencyKey);
              expect(stored?.entry.state, `${label}: key ${index}`).toBe(record.state);
              expect(stored?.expiresAt, `${label}: key ${index}`).toBe(record.expiresAt);
              if (stored?.entry.state === "completed") {
                expect(stored.entry.response.body.byteLength).toBe(record.body);
              }
            }
            expect(store.size, label).toBeLessThanOrEqual(maxEntries);
            expect(store.size, label).toBeGreaterThanOrEqual(live().length);
            expect(store.bytes, label).toBeGreaterThanOrEqual(liveBytes());
          }
          await store.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("MemoryStore", () => {
  it("sweeps expired entries and its timer does not keep the process alive", async () => {
    let time = 0;
    await using store = new MemoryStore({ clock: { now: () => time }, sweepIntervalMs: 5 });
    await store.tryInsert(IdempotencyKey.parse("x"), entry(), lease(10));
    time += 11;
    for (let waited = 0; store.size > 0 && waited < 2000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(store.size).toBe(0);
  });

  it("refuses work after close", async () => {
    const store = new MemoryStore();
    await store.close();
    await expect(store.tryInsert(IdempotencyKey.random(), entry(), lease())).rejects.toBeInstanceOf(
      StoreClosedError,
    );
  });

  it("reports every failure of tryInsert and complete as a rejection, never a synchronous throw", async () => {
    const store = new MemoryStore({ maxEntries: 1, sweepIntervalMs: 0 });
    const key = IdempotencyKey.random();
    const claim = claimed(await store.tryInsert(key, entry(), lease()));
    const completed = claim.entry.complete(CachedResponse.from("done"));
    const notAKey = "key" as unknown as IdempotencyKey;
    const failures: [string, () => Promise<unknown>, abstract new (...args: never[]) => Error][] = [
      ["key", () => store.tryInsert(notAKey, entry()), InvalidArgumentError],
      ["entry", () => store.tryInsert(key, completed as never), EntryStateError],
      ["lease", () => store.tryInsert(key, entry(), lease(0)), InvalidArgumentError],
      ["full", () => store.tryInsert(IdempotencyKey.random(), entry()), StoreCapacityError],
      ["key", () => store.complete(notAKey, completed, claim.fencingToken), InvalidArgumentError],
      [
        "entry",
        () => store.complete(key, claim.entry as never, claim.fencingToken),
        EntryStateError,
      ],
      ["token", () => store.complete(key, completed, 1 as never), InvalidArgumentError],
      [
        "retention",
        () => store.complete(key, completed, claim.fencingToken, { retentionTtlMs: -1 }),
        InvalidArgumentError,
      ],
    ];
    const settle = async () => {
      for (const [what, call, errorClass] of failures) {
        let pending: Promise<unknown> | undefined;
        expect(() => (pending = call()), what).not.toThrow();
        await expect(pending, what).rejects.toBeInstanceOf(errorClass);
      }
    };
    await settle();
    await store.close();
    for (const failure of failures) failure[2] = StoreClosedError;
    await settle();
  });
});
