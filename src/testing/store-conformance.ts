import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../core/cached-response.ts";
import { FencingToken } from "../core/fencing-token.ts";
import { Fingerprint } from "../core/fingerprint.ts";
import { IdempotencyEntry } from "../core/idempotency-entry.ts";
import { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import type { InsertResult } from "../core/insert-result.ts";
import { delay } from "../utils/delay.ts";

/** How {@link runStoreConformance} drives a store implementation. */
export interface StoreConformanceOptions<S extends IdempotencyStore = IdempotencyStore> {
  /** Suite name, e.g. `"MemoryStore"`. */
  readonly name: string;
  /** A store to test; each test calls it once and uses fresh random keys. */
  readonly createStore: () => S | Promise<S>;
  /** Called after each store is used. */
  readonly disposeStore?: (store: S) => void | Promise<void>;
  /**
   * Moves the store's clock forward. Stores with an injectable clock pass it to run the expiry
   * tests instantly; without it the suite sleeps through short real leases.
   */
  readonly advanceTime?: (ms: number) => void | Promise<void>;
  /** Lease in milliseconds for expiry tests on real time; 300 by default. */
  readonly shortTtlMs?: number;
  /** Concurrent claimers in the contention test; 64 by default. */
  readonly concurrency?: number;
  /** Runs of the model-based property test; 50 by default. */
  readonly propertyRuns?: number;
  /** Called once before the suite, e.g. to start a server. */
  readonly setup?: () => void | Promise<void>;
  /** Called once after the suite. */
  readonly teardown?: () => void | Promise<void>;
}

const longTtlMs = 600_000;

function fingerprintOf(seed: number): Fingerprint {
  return Fingerprint.fromHex(seed.toString(16).padStart(32, "0"));
}

function claimed(result: InsertResult): Extract<InsertResult, { kind: "claimed" }> {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}

/**
 * The contract every {@link IdempotencyStore} must meet, as a vitest suite: the state machine,
 * fencing, expiry, contention, binary bodies, and a model-based property test (fast-check).
 * Call it from a test file of your store.
 *
 * @example
 * ```ts
 * // my-store.test.ts
 * import { runStoreConformance } from "idempotent/testing";
 *
 * runStoreConformance({
 *   name: "MyStore",
 *   createStore: () => new MyStore(connection),
 * });
 * ```
 */
export function runStoreConformance<S extends IdempotencyStore>(
  options: StoreConformanceOptions<S>,
): void {
  // Long enough that a loaded machine's late timers do not expire leases the tests extend.
  const shortTtlMs = options.shortTtlMs ?? 300;
  const advance = async (ms: number): Promise<void> => {
    if (options.advanceTime === undefined) await delay(ms);
    else await options.advanceTime(ms);
  };
  const key = (): IdempotencyKey => IdempotencyKey.random();
  const entry = (seed = 1) => IdempotencyEntry.new(fingerprintOf(seed));
  const lease = (ttlMs = longTtlMs) => ({ leaseTtlMs: ttlMs });
  const withStore = (test: (store: S) => Promise<void>) => async (): Promise<void> => {
    const store = await options.createStore();
    try {
      await test(store);
    } finally {
      await options.disposeStore?.(store);
    }
  };

  describe(`${options.name} conforms to IdempotencyStore`, () => {
    if (options.setup !== undefined) beforeAll(options.setup, 120_000);
    if (options.teardown !== undefined) afterAll(options.teardown, 120_000);

    describe("tryInsert", () => {
      it(
        "claims an absent key and reports the live entry to later callers",
        withStore(async (store) => {
          const id = key();
          const first = claimed(await store.tryInsert(id, entry(7), lease()));
          expect(first.entry.state).toBe("processing");
          const second = await store.tryInsert(id, entry(8), lease());
          expect(second.kind).toBe("exists");
          if (second.kind !== "exists") return;
          expect(second.entry.state).toBe("processing");
          expect(second.entry.fingerprint.equals(fingerprintOf(7))).toBe(true);
          expect(second.expiresAt).toBeGreaterThan(Date.now() - 60_000);
          const stored = await store.get(id);
          expect(stored?.entry.state).toBe("processing");
        }),
      );

      it(
        "keeps keys apart, scoped keys included",
        withStore(async (store) => {
          const id = key();
          claimed(await store.tryInsert(id, entry(), lease()));
          claimed(await store.tryInsert(id.scoped("step"), entry(), lease()));
          claimed(
            await store.tryInsert(IdempotencyKey.parse("ключ-🔑-" + id.value), entry(), lease()),
          );
          expect(await store.get(key())).toBeUndefined();
        }),
      );

      it(
        "grants exactly one claim to concurrent claimers",
        withStore(async (store) => {
          const id = key();
          const claimers = options.concurrency ?? 64;
          const results = await Promise.all(
            Array.from({ length: claimers }, (_, index) =>
              store.tryInsert(id, entry(index), lease()),
            ),
          );
          expect(results.filter((result) => result.kind === "claimed")).toHaveLength(1);
        }),
      );
    });

    describe("complete", () => {
      it(
        "stores the response for replay, byte for byte",
        withStore(async (store) => {
          const id = key();
          const claim = claimed(await store.tryInsert(id, entry(3), lease()));
          const body = new Uint8Array(256 * 4).map((_, index) => index % 256);
          const response = new CachedResponse({
            status: 201,
            headers: [
              ["content-type", "application/octet-stream"],
              ["x-repeat", "a"],
              ["x-repeat", "b"],
            ],
            body,
          });
          const outcome = await store.complete(
            id,
            claim.entry.complete(response),
            claim.fencingToken,
            {
              retentionTtlMs: longTtlMs,
            },
          );
          expect(outcome.kind).toBe("applied");
          const replay = await store.tryInsert(id, entry(3), lease());
          expect(replay.kind).toBe("exists");
          if (replay.kind !== "exists" || replay.entry.state !== "completed") {
            throw new Error("expected a completed entry");
          }
          expect(replay.entry.fingerprint.equals(fingerprintOf(3))).toBe(true);
          expect(replay.entry.response.status).toBe(201);
          expect(replay.entry.response.headers).toEqual(response.headers);
          expect(Buffer.from(replay.entry.response.body).equals(Buffer.from(body))).toBe(true);
        }),
      );

      it(
        "keeps empty and large bodies intact",
        withStore(async (store) => {
          for (const size of [0, 1, 1024 * 1024]) {
            const id = key();
            const claim = claimed(await store.tryInsert(id, entry(), lease()));
            const body = new Uint8Array(size).map((_, index) => (index * 31 + 7) % 256);
            const response = new CachedResponse({ status: 200, headers: [], body });
            await store.complete(id, claim.entry.complete(response), claim.fencingToken, {
              retentionTtlMs: longTtlMs,
            });
            const stored = await store.get(id);
            if (stored?.entry.state !== "completed") throw new Error("expected completed");
            expect(Buffer.from(stored.entry.response.body).equals(Buffer.from(body))).toBe(true);
          }
        }),
      );

      it(
        "rejects a foreign token, an absent key and another fingerprint; a retried completion keeps the first",
        withStore(async (store) => {
          const id = key();
          const claim = claimed(await store.tryInsert(id, entry(1), lease()));
          const response = CachedResponse.from("first");
          const foreign = await store.complete(
            id,
            claim.entry.complete(response),
            FencingToken.from(claim.fencingToken.value + 1000n),
            { retentionTtlMs: longTtlMs },
          );
          expect(foreign.kind).toBe("fencing-mismatch");
          const mismatch = await store.complete(
            id,
            entry(2).complete(response),
            claim.fencingToken,
            { retentionTtlMs: longTtlMs },
          );
          expect(mismatch.kind).toBe("fingerprint-mismatch");
          expect((await store.get(id))?.entry.state).toBe("processing");
          const applied = await store.complete(
            id,
            claim.entry.complete(response),
            claim.fencingToken,
            {
              retentionTtlMs: longTtlMs,
            },
          );
          expect(applied.kind).toBe("applied");
          const again = await store.complete(
            id,
            claim.entry.complete(CachedResponse.from("second")),
            claim.fencingToken,
            { retentionTtlMs: longTtlMs },
          );
          expect(again.kind).toBe("applied");
          const stored = await store.get(id);
          if (stored?.entry.state !== "completed") throw new Error("expected completed");
          expect(stored.entry.response.text()).toBe("first");
          const absent = await store.complete(
            key(),
            claim.entry.complete(response),
            claim.fencingToken,
            {
              retentionTtlMs: longTtlMs,
            },
          );
          expect(absent.kind).toBe("key-expired");
        }),
      );
    });

    describe("touch and remove", () => {
      it(
        "touch extends a live lease and refuses other tokens and completed entries",
        withStore(async (store) => {
          const id = key();
          const claim = claimed(await store.tryInsert(id, entry(1), lease(shortTtlMs)));
          // Extended at once to four leases (little room for a slow machine to expire it
          // first): past the first lease, the claim must still hold.
          expect(
            (await store.touch(id, claim.fencingToken, { leaseTtlMs: shortTtlMs * 4 })).kind,
          ).toBe("applied");
          await advance(shortTtlMs * 1.5);
          expect((await store.tryInsert(id, entry(), lease())).kind).toBe("exists");
          expect(
            (
              await store.touch(id, FencingToken.from(claim.fencingToken.value + 1n), {
                leaseTtlMs: 1000,
              })
            ).kind,
          ).toBe("fencing-mismatch");
          await store.complete(
            id,
            claim.entry.complete(CachedResponse.from("x")),
            claim.fencingToken,
            {
              retentionTtlMs: longTtlMs,
            },
          );
          expect((await store.touch(id, claim.fencingToken, { leaseTtlMs: 1000 })).kind).toBe(
            "fencing-mismatch",
          );
          expect((await store.touch(key(), claim.fencingToken, { leaseTtlMs: 1000 })).kind).toBe(
            "key-expired",
          );
        }),
      );

      it(
        "remove releases a live claim once, and never a completed entry",
        withStore(async (store) => {
          const id = key();
          const claim = claimed(await store.tryInsert(id, entry(), lease()));
          expect((await store.remove(id, claim.fencingToken)).kind).toBe("applied");
          expect((await store.remove(id, claim.fencingToken)).kind).toBe("key-expired");
          const second = claimed(await store.tryInsert(id, entry(), lease()));
          expect(second.fencingToken.isNewerThan(claim.fencingToken)).toBe(true);
          expect((await store.remove(id, claim.fencingToken)).kind).toBe("fencing-mismatch");
          await store.complete(
            id,
            second.entry.complete(CachedResponse.from("kept")),
            second.fencingToken,
            {
              retentionTtlMs: longTtlMs,
            },
          );
          expect((await store.remove(id, second.fencingToken)).kind).toBe("fencing-mismatch");
          const stored = await store.get(id);
          if (stored?.entry.state !== "completed") throw new Error("expected completed");
          expect(stored.entry.response.text()).toBe("kept");
        }),
      );
    });

    describe("expiry and fencing", () => {
      it(
        "rejects a zombie completion after the lease expired and the key was re-claimed",
        withStore(async (store) => {
          const id = key();
          const zombie = claimed(await store.tryInsert(id, entry(1), lease(shortTtlMs)));
          await advance(shortTtlMs + 100);
          expect(await store.get(id)).toBeUndefined();
          const fresh = claimed(await store.tryInsert(id, entry(1), lease()));
          expect(fresh.fencingToken.isNewerThan(zombie.fencingToken)).toBe(true);
          const late = await store.complete(
            id,
            zombie.entry.complete(CachedResponse.from("zombie")),
            zombie.fencingToken,
            { retentionTtlMs: longTtlMs },
          );
          expect(late.kind).toBe("fencing-mismatch");
          const applied = await store.complete(
            id,
            fresh.entry.complete(CachedResponse.from("fresh")),
            fresh.fencingToken,
            { retentionTtlMs: longTtlMs },
          );
          expect(applied.kind).toBe("applied");
          const stored = await store.get(id);
          if (stored?.entry.state !== "completed") throw new Error("expected completed");
          expect(stored.entry.response.text()).toBe("fresh");
        }),
      );

      it(
        "reports key-expired to an owner whose lease ran out unclaimed",
        withStore(async (store) => {
          const id = key();
          const claim = claimed(await store.tryInsert(id, entry(1), lease(shortTtlMs)));
          await advance(shortTtlMs + 100);
          const outcome = await store.complete(
            id,
            claim.entry.complete(CachedResponse.from("late")),
            claim.fencingToken,
            { retentionTtlMs: longTtlMs },
          );
          expect(outcome.kind).toBe("key-expired");
          expect((await store.touch(id, claim.fencingToken, { leaseTtlMs: 1000 })).kind).toBe(
            "key-expired",
          );
        }),
      );

      it(
        "expires completed entries after their TTL",
        withStore(async (store) => {
          const id = key();
          const claim = claimed(await store.tryInsert(id, entry(), lease()));
          await store.complete(
            id,
            claim.entry.complete(CachedResponse.from("x")),
            claim.fencingToken,
            {
              retentionTtlMs: shortTtlMs,
            },
          );
          expect((await store.tryInsert(id, entry(), lease())).kind).toBe("exists");
          await advance(shortTtlMs + 100);
          const again = claimed(await store.tryInsert(id, entry(), lease()));
          expect(again.fencingToken.isNewerThan(claim.fencingToken)).toBe(true);
        }),
      );

      it(
        "issues increasing tokens after purge",
        withStore(async (store) => {
          const id = key();
          const first = claimed(await store.tryInsert(id, entry(), lease()));
          expect(await store.purge(id)).toBe(true);
          expect(await store.purge(id)).toBe(false);
          expect(await store.get(id)).toBeUndefined();
          const second = claimed(await store.tryInsert(id, entry(), lease()));
          expect(second.fencingToken.isNewerThan(first.fencingToken)).toBe(true);
          expect(
            (
              await store.complete(
                id,
                first.entry.complete(CachedResponse.from("old")),
                first.fencingToken,
                { retentionTtlMs: 1000 },
              )
            ).kind,
          ).toBe("fencing-mismatch");
        }),
      );
    });

    it(
      "matches a model of the contract under random operation sequences",
      withStore(async (store) => {
        await fc.assert(
          fc.asyncProperty(modelCommands(), async (commands) => {
            await runModel(store, commands);
          }),
          { numRuns: options.propertyRuns ?? 50 },
        );
      }),
      120_000,
    );
  });
}

type ModelCommand =
  | { readonly type: "claim"; readonly key: number; readonly fingerprint: number }
  | {
      readonly type: "complete";
      readonly key: number;
      readonly claim: number;
      readonly fingerprint: number;
    }
  | { readonly type: "touch"; readonly key: number; readonly claim: number }
  | { readonly type: "remove"; readonly key: number; readonly claim: number }
  | { readonly type: "purge"; readonly key: number }
  | { readonly type: "get"; readonly key: number };

function modelCommands(): fc.Arbitrary<ModelCommand[]> {
  const keyIndex = fc.nat({ max: 2 });
  const fingerprint = fc.nat({ max: 1 });
  const claim = fc.nat({ max: 3 });
  return fc.array(
    fc.oneof(
      fc.record({ type: fc.constant("claim" as const), key: keyIndex, fingerprint }),
      fc.record({ type: fc.constant("complete" as const), key: keyIndex, claim, fingerprint }),
      fc.record({ type: fc.constant("touch" as const), key: keyIndex, claim }),
      fc.record({ type: fc.constant("remove" as const), key: keyIndex, claim }),
      fc.record({ type: fc.constant("purge" as const), key: keyIndex }),
      fc.record({ type: fc.constant("get" as const), key: keyIndex }),
    ),
    { minLength: 1, maxLength: 30 },
  );
}

interface ModelKey {
  state: "absent" | "processing" | "completed";
  fingerprint: number;
  token: FencingToken | undefined;
  response: string;
  readonly claims: { token: FencingToken; fingerprint: number }[];
}

/** Runs `commands` on fresh keys of `store` and on a model, comparing every outcome. */
async function runModel(store: IdempotencyStore, commands: readonly ModelCommand[]): Promise<void> {
  const keys = [IdempotencyKey.random(), IdempotencyKey.random(), IdempotencyKey.random()];
  const model: ModelKey[] = keys.map(() => ({
    state: "absent",
    fingerprint: 0,
    token: undefined,
    response: "",
    claims: [],
  }));
  let step = 0;
  for (const command of commands) {
    step++;
    const id = keys[command.key] as IdempotencyKey;
    const expected = model[command.key] as ModelKey;
    const pick = (claim: number) => expected.claims[claim % Math.max(expected.claims.length, 1)];
    const heldBy = (token: FencingToken): string =>
      expected.state === "absent"
        ? "key-expired"
        : expected.state === "processing" && expected.token?.equals(token) === true
          ? "applied"
          : "fencing-mismatch";
    switch (command.type) {
      case "claim": {
        const result = await store.tryInsert(
          id,
          IdempotencyEntry.new(fingerprintOf(command.fingerprint)),
          { leaseTtlMs: longTtlMs },
        );
        if (expected.state === "absent") {
          expect(result.kind, `step ${step}`).toBe("claimed");
          if (result.kind !== "claimed") return;
          const previous = expected.claims.at(-1);
          if (previous !== undefined) {
            expect(result.fencingToken.isNewerThan(previous.token)).toBe(true);
          }
          expected.claims.push({ token: result.fencingToken, fingerprint: command.fingerprint });
          Object.assign(expected, {
            state: "processing",
            fingerprint: command.fingerprint,
            token: result.fencingToken,
          });
        } else {
          expect(result.kind, `step ${step}`).toBe("exists");
          if (result.kind !== "exists") return;
          expect(result.entry.state).toBe(expected.state);
          expect(result.entry.fingerprint.equals(fingerprintOf(expected.fingerprint))).toBe(true);
        }
        break;
      }
      case "complete": {
        const claim = pick(command.claim);
        if (claim === undefined) break;
        const response = `response ${step}`;
        const outcome = await store.complete(
          id,
          IdempotencyEntry.new(fingerprintOf(command.fingerprint)).complete(
            CachedResponse.from(response),
          ),
          claim.token,
          { retentionTtlMs: longTtlMs },
        );
        const ownsKey = expected.state !== "absent" && expected.token?.equals(claim.token) === true;
        let want =
          expected.state === "absent" ? "key-expired" : ownsKey ? "applied" : "fencing-mismatch";
        if (want === "applied" && command.fingerprint !== expected.fingerprint) {
          want = "fingerprint-mismatch";
        }
        expect(outcome.kind, `step ${step}`).toBe(want);
        if (want === "applied" && expected.state === "processing") {
          Object.assign(expected, { state: "completed", response });
        }
        break;
      }
      case "touch": {
        const claim = pick(command.claim);
        if (claim === undefined) break;
        const outcome = await store.touch(id, claim.token, { leaseTtlMs: longTtlMs });
        expect(outcome.kind, `step ${step}`).toBe(heldBy(claim.token));
        break;
      }
      case "remove": {
        const claim = pick(command.claim);
        if (claim === undefined) break;
        const want = heldBy(claim.token);
        const outcome = await store.remove(id, claim.token);
        expect(outcome.kind, `step ${step}`).toBe(want);
        if (want === "applied") Object.assign(expected, { state: "absent", token: undefined });
        break;
      }
      case "purge": {
        expect(await store.purge(id), `step ${step}`).toBe(expected.state !== "absent");
        Object.assign(expected, { state: "absent", token: undefined });
        break;
      }
      case "get": {
        const stored = await store.get(id);
        if (expected.state === "absent") {
          expect(stored, `step ${step}`).toBeUndefined();
        } else {
          expect(stored?.entry.state, `step ${step}`).toBe(expected.state);
          if (stored?.entry.state === "completed") {
            expect(stored.entry.response.text()).toBe(expected.response);
          }
        }
        break;
      }
    }
  }
}
