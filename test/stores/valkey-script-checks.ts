// Checks of the Valkey store's scripts that the store conformance suite cannot make: records
// written behind the store's back (raw HSET) with a token far ahead of the server clock, so a
// token order the clock alone would explain shows up, and the key TTLs the scripts set.
// test/stores/valkey-scripts.test.ts runs them on the real scripts; test/lua-mutations.test.ts
// on mutated ones, where each mutation must make one of them (or the conformance suite) fail.
import type { Redis } from "ioredis";
import { expect } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { InsertResult } from "../../src/core/insert-result.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { tokenRetentionMs } from "../../src/stores/valkey/scripts.ts";
import type { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { encodeV2, tombstoneOf, v2Tail, writeV1, writeV2 } from "./valkey-records.ts";

export interface ScriptCheckContext {
  /** The store under test. */
  readonly store: ValkeyStore;
  /** A client on the same server, to write and read records directly. */
  readonly raw: Redis;
}

export interface ScriptCheck {
  readonly name: string;
  run(context: ScriptCheckContext): Promise<void>;
}

const fingerprint = Fingerprint.fromHex("9a".repeat(16));
const processing = () => IdempotencyEntry.new(fingerprint);
const lease = (leaseTtlMs = 60_000) => ({ leaseTtlMs });
/** A token far ahead of the server clock (microseconds, about the year 2230). */
const ahead = 8_200_000_000_000_000n;
/** Slack for the time between a script's run and the check reading the TTL. */
const slackMs = 10_000;

function claimed(result: InsertResult): Extract<InsertResult, { kind: "claimed" }> {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** The layouts a record can be written in: version 1 (0.1.0's hashes) and version 2. */
const layouts = [1, 2] as const;
type Layout = (typeof layouts)[number];

/** A record to write, in layout-neutral terms; `token: undefined` leaves the token out. */
interface Shape {
  readonly state?: "p" | "c" | "t";
  readonly token?: bigint | undefined;
  readonly expiresAt?: number;
  /** The lease of a claim, 60 000 ms by default. */
  readonly leaseMs?: number;
  readonly version?: string;
}

/**
 * Writes a record as the scripts of `layout` would, `shape` overriding a live processing one
 * with a token far ahead. A completed record's body is "done".
 */
async function write(
  { raw }: ScriptCheckContext,
  layout: Layout,
  recordKey: string,
  shape: Shape,
): Promise<void> {
  const { state = "p", leaseMs = 60_000, expiresAt = Date.now() + leaseMs } = shape;
  const token = "token" in shape ? shape.token : ahead;
  if (layout === 1) {
    const live =
      state === "t" ? {} : { fp: fingerprint.hex, lease: String(leaseMs), exp: String(expiresAt) };
    const done = state === "c" ? { st: "200", h: "[]", b: "done" } : {};
    await writeV1(raw, recordKey, {
      v: shape.version ?? "1",
      s: state,
      tok: token?.toString(),
      ...live,
      ...done,
    });
    return;
  }
  // A missing token is 16 characters that are not all digits, so the rest stays in place;
  // they sort below the largest token, so only the digit check refuses them.
  const tokenText = token === undefined ? "0000000000000abc" : token.toString().padStart(16, "0");
  const version = shape.version ?? "2";
  if (state === "t") {
    // A tombstone ends with its token: a missing one is missing.
    await writeV2(
      raw,
      recordKey,
      Buffer.from(`${version}t${token === undefined ? "" : tokenText}`),
    );
    return;
  }
  await writeV2(
    raw,
    recordKey,
    encodeV2({
      version,
      state,
      token: tokenText,
      since: expiresAt - leaseMs,
      ttl: leaseMs,
      fingerprint: fingerprint.hex,
      ...(state === "c" ? { tail: v2Tail("200", "[]", "done") } : {}),
    }),
  );
}

/** One check per layout, named after it. */
function inEachLayout(
  name: string,
  run: (context: ScriptCheckContext, layout: Layout) => Promise<void>,
): ScriptCheck[] {
  return layouts.map((layout) => ({
    name: `${name} (records of version ${layout})`,
    run: (context) => run(context, layout),
  }));
}

/** Expects the next claim's token above `previous`, and the old claim fenced off. */
async function expectNextClaimAbove(
  { store }: ScriptCheckContext,
  key: IdempotencyKey,
  previous: bigint,
): Promise<void> {
  const next = claimed(await store.tryInsert(key, processing(), lease()));
  expect(next.fencingToken.value).toBeGreaterThan(previous);
  const stale = await store.complete(
    key,
    processing().complete(CachedResponse.from("stale")),
    FencingToken.from(previous),
    { retentionTtlMs: 60_000 },
  );
  expect(stale.kind).toBe("fencing-mismatch");
}

/** Expects the key's TTL within `slackMs` below `ttlMs`. */
async function expectTtl({ raw }: ScriptCheckContext, recordKey: string, ttlMs: number) {
  const ttl = await raw.pttl(recordKey);
  expect(ttl).toBeLessThanOrEqual(ttlMs);
  expect(ttl).toBeGreaterThan(ttlMs - slackMs);
}

/** Expects the entry's logical expiry `ttlMs` from now, within `slackMs`. */
async function expectExpiry({ store }: ScriptCheckContext, key: IdempotencyKey, ttlMs: number) {
  const stored = await store.get(key);
  expect(stored?.expiresAt).toBeGreaterThan(Date.now() + ttlMs - slackMs);
  expect(stored?.expiresAt).toBeLessThanOrEqual(Date.now() + ttlMs + 1000);
}

export const scriptChecks: readonly ScriptCheck[] = [
  ...inEachLayout(
    "remove leaves a tombstone with the token: the next claim's token is above it",
    async (context, layout) => {
      const { store, raw } = context;
      const key = IdempotencyKey.random();
      const recordKey = store.recordKey(key);
      await write(context, layout, recordKey, {});
      expect((await store.remove(key, FencingToken.from(ahead))).kind).toBe("applied");
      expect(await store.get(key)).toBeUndefined();
      expect(await raw.get(recordKey)).toBe(tombstoneOf(ahead));
      await expectNextClaimAbove(context, key, ahead);
    },
  ),
  ...inEachLayout(
    "purge leaves a tombstone with the token: the next claim's token is above it",
    async (context, layout) => {
      const { store, raw } = context;
      for (const state of ["p", "c"] as const) {
        const key = IdempotencyKey.random();
        const recordKey = store.recordKey(key);
        await write(context, layout, recordKey, { state });
        expect(await store.purge(key)).toBe(true);
        expect(await store.get(key)).toBeUndefined();
        expect(await raw.get(recordKey)).toBe(tombstoneOf(ahead));
        await expectNextClaimAbove(context, key, ahead);
      }
    },
  ),
  {
    name: "touch, remove and complete refuse a token above the claim's, as one below it",
    run: async (context) => {
      const { store } = context;
      const key = IdempotencyKey.random();
      const claim = claimed(await store.tryInsert(key, processing(), lease()));
      const late = claim.entry.complete(CachedResponse.from("late"));
      for (const offset of [1n, -1n]) {
        const token = FencingToken.from(claim.fencingToken.value + offset);
        expect((await store.touch(key, token, { leaseTtlMs: 60_000 })).kind).toBe(
          "fencing-mismatch",
        );
        expect((await store.remove(key, token)).kind).toBe("fencing-mismatch");
        expect((await store.complete(key, late, token, { retentionTtlMs: 60_000 })).kind).toBe(
          "fencing-mismatch",
        );
      }
      expect((await store.get(key))?.entry.state).toBe("processing");
    },
  },
  ...inEachLayout("an expired record's token orders the next claim", async (context, layout) => {
    const { store } = context;
    const key = IdempotencyKey.random();
    await write(context, layout, store.recordKey(key), { expiresAt: Date.now() - 1000 });
    expect(await store.get(key)).toBeUndefined();
    await expectNextClaimAbove(context, key, ahead);
  }),
  ...inEachLayout(
    "an entry past its logical expiry is free before its key expires",
    async (context, layout) => {
      const { store } = context;
      const key = IdempotencyKey.random();
      const token = FencingToken.from(12);
      await write(context, layout, store.recordKey(key), {
        token: 12n,
        expiresAt: Date.now() - 1,
      });
      expect(await store.get(key)).toBeUndefined();
      expect((await store.touch(key, token, { leaseTtlMs: 60_000 })).kind).toBe("key-expired");
      expect((await store.remove(key, token)).kind).toBe("key-expired");
      const late = processing().complete(CachedResponse.from("late"));
      expect((await store.complete(key, late, token, { retentionTtlMs: 60_000 })).kind).toBe(
        "key-expired",
      );
      expect(await store.purge(key)).toBe(false);
      claimed(await store.tryInsert(key, processing(), lease()));
    },
  ),
  {
    name: "claim, touch and complete set the logical expiry, and the key's TTL a retention past it",
    run: async (context) => {
      const { store } = context;
      const key = IdempotencyKey.random();
      const recordKey = store.recordKey(key);
      const claim = claimed(await store.tryInsert(key, processing(), lease(600_000)));
      await expectExpiry(context, key, 600_000);
      await expectTtl(context, recordKey, 600_000 + tokenRetentionMs);
      expect((await store.touch(key, claim.fencingToken, { leaseTtlMs: 900_000 })).kind).toBe(
        "applied",
      );
      await expectExpiry(context, key, 900_000);
      await expectTtl(context, recordKey, 900_000 + tokenRetentionMs);
      const completed = claim.entry.complete(CachedResponse.from("done"));
      expect(
        (await store.complete(key, completed, claim.fencingToken, { retentionTtlMs: 1_200_000 }))
          .kind,
      ).toBe("applied");
      await expectExpiry(context, key, 1_200_000);
      await expectTtl(context, recordKey, 1_200_000 + tokenRetentionMs);
    },
  },
  ...inEachLayout(
    "touch moves the logical expiry of a claim made long ago a lease from now",
    async (context, layout) => {
      const { store } = context;
      const key = IdempotencyKey.random();
      const recordKey = store.recordKey(key);
      // Claimed 590 s ago for 600 s: 10 s left.
      await write(context, layout, recordKey, { leaseMs: 600_000, expiresAt: Date.now() + 10_000 });
      expect((await store.touch(key, FencingToken.from(ahead), lease(60_000))).kind).toBe(
        "applied",
      );
      await expectExpiry(context, key, 60_000);
      await expectTtl(context, recordKey, 60_000 + tokenRetentionMs);
    },
  ),
  {
    name: "a released claim's tombstone lives as long as its lease",
    run: async (context) => {
      const { store } = context;
      const key = IdempotencyKey.random();
      const claim = claimed(await store.tryInsert(key, processing(), lease(600_000)));
      expect((await store.remove(key, claim.fencingToken)).kind).toBe("applied");
      await expectTtl(context, store.recordKey(key), 600_000);
    },
  },
  ...inEachLayout(
    "a tombstone without a token or with one beyond 2^53 fails the next claim",
    async (context, layout) => {
      const { store } = context;
      for (const token of [undefined, 9_007_199_254_740_993n]) {
        const key = IdempotencyKey.random();
        await write(context, layout, store.recordKey(key), { state: "t", token });
        expect(
          await rejection(store.tryInsert(key, processing(), lease())),
          String(token),
        ).toBeInstanceOf(MalformedRecordError);
      }
    },
  ),
  ...inEachLayout(
    "a claim without a token or with one beyond 2^53 is refused, never extended or released",
    async (context, layout) => {
      const { store } = context;
      for (const token of [undefined, 9_007_199_254_740_993n]) {
        const key = IdempotencyKey.random();
        await write(context, layout, store.recordKey(key), { token });
        const fencingToken = FencingToken.from(token ?? 12n);
        const late = processing().complete(CachedResponse.from("late"));
        for (const operation of [
          store.touch(key, fencingToken, { leaseTtlMs: 60_000 }),
          store.remove(key, fencingToken),
          store.complete(key, late, fencingToken, { retentionTtlMs: 60_000 }),
          store.get(key),
        ]) {
          expect(await rejection(operation), String(token)).toBeInstanceOf(MalformedRecordError);
        }
      }
    },
  ),
  ...inEachLayout(
    "a record of another layout version is refused, and purged without reading its token",
    async (context, layout) => {
      const { store } = context;
      const key = IdempotencyKey.random();
      await write(context, layout, store.recordKey(key), { version: "9" });
      for (const error of [
        await rejection(store.get(key)),
        await rejection(store.tryInsert(key, processing(), lease())),
        await rejection(store.touch(key, FencingToken.from(ahead), { leaseTtlMs: 1000 })),
      ]) {
        expect(error).toBeInstanceOf(MalformedRecordError);
        expect((error as MalformedRecordError).path).toBe("v");
      }
      expect(await store.purge(key)).toBe(true);
      const next = claimed(await store.tryInsert(key, processing(), lease()));
      expect(next.fencingToken.value).toBeLessThan(ahead);
    },
  ),
  {
    name: "a live record whose time or TTL is not all digits is corrupt, never expired and overwritten",
    run: async ({ store, raw }) => {
      const now = Date.now() * 1000;
      // Each reads as a number in Lua, and as a time long past or a TTL of about nothing.
      for (const [since, ttl] of [
        ["1.96150000000000", "0000060000"],
        ["-000000000000001", "0000060000"],
        [String(now).padStart(16, "0"), "0000.60000"],
      ] as const) {
        const key = IdempotencyKey.random();
        const record = encodeV2({
          state: "c",
          token: "0000000000000012",
          since,
          ttl,
          fingerprint: fingerprint.hex,
          tail: v2Tail("200", "[]", "done"),
        });
        await writeV2(raw, store.recordKey(key), record);
        expect(await rejection(store.tryInsert(key, processing(), lease())), since).toBeInstanceOf(
          MalformedRecordError,
        );
        expect(await raw.getBuffer(store.recordKey(key))).toEqual(record);
      }
    },
  },
  {
    name: "a claim refuses to issue a token beyond 2^53, whatever the key's last token",
    run: async (context) => {
      const { store } = context;
      for (const layout of layouts) {
        const key = IdempotencyKey.random();
        const last = BigInt(Number.MAX_SAFE_INTEGER);
        await write(context, layout, store.recordKey(key), { state: "t", token: last });
        expect(await rejection(store.tryInsert(key, processing(), lease()))).toBeInstanceOf(
          MalformedRecordError,
        );
        // One below the limit still has a successor.
        await write(context, layout, store.recordKey(key), { state: "t", token: last - 1n });
        const claim = claimed(await store.tryInsert(key, processing(), lease()));
        expect(claim.fencingToken.value).toBe(last);
      }
    },
  },
];
