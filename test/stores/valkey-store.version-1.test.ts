// Records of layout version 1, as 0.1.0 wrote them (one hash per key), keep working under the
// version-2 scripts: replayed until they expire, their claims completed, extended or released,
// and every write replacing the hash with a version-2 record that keeps the fencing token.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { InsertResult } from "../../src/core/insert-result.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { tokenRetentionMs } from "../../src/stores/valkey/scripts.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ConnectedClient } from "../servers/clients.ts";
import { serverBinaries, startServer, type ServerProcess } from "../servers/redis-server.ts";
import { readV2, tombstoneOf } from "./valkey-records.ts";

const fingerprint = Fingerprint.fromHex("7c".repeat(16));
const other = Fingerprint.fromHex("7d".repeat(16));
/** A token ahead of the server clock, so a token order the clock alone explains shows up. */
const ahead = 8_400_000_000_000_000n;
const binaryBody = Buffer.from([0, 1, 2, 255, 254, 13, 10, 0x7b]);

/** What 0.1.0's claim script wrote: the hash of a processing entry, then the key's TTL. */
async function claimV1(raw: Redis, recordKey: string, token: bigint, leaseMs = 60_000) {
  const exp = Date.now() + leaseMs;
  await raw.del(recordKey);
  await raw.hset(recordKey, {
    v: "1",
    s: "p",
    fp: fingerprint.hex,
    tok: token.toString(),
    lease: String(leaseMs),
    exp: String(exp),
  });
  await raw.pexpire(recordKey, leaseMs + tokenRetentionMs);
}

/** What 0.1.0's complete script wrote on top of a claim. */
async function completeV1(raw: Redis, recordKey: string, retentionMs = 600_000) {
  await raw.hset(recordKey, {
    s: "c",
    st: "201",
    h: JSON.stringify([["content-type", "application/octet-stream"]]),
    b: binaryBody,
    exp: String(Date.now() + retentionMs),
  });
  await raw.pexpire(recordKey, retentionMs + tokenRetentionMs);
}

function claimed(result: InsertResult): Extract<InsertResult, { kind: "claimed" }> {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}

const lease = { leaseTtlMs: 60_000 };
const retention = { retentionTtlMs: 600_000 };

for (const binary of serverBinaries) {
  describe(`ValkeyStore on version-1 records (${binary})`, () => {
    let server: ServerProcess;
    let raw: Redis;
    let connected: ConnectedClient;
    let store: ValkeyStore;

    beforeAll(async () => {
      server = await startServer({ binary });
      raw = new Redis(server.port, "127.0.0.1");
      connected = await connect("ioredis", server.port);
      store = new ValkeyStore({ client: connected.client, prefix: "v1" });
    });
    afterAll(async () => {
      raw.disconnect();
      await connected.close();
      await server.stop();
    });

    /** A fresh key and its record key, with a version-1 claim holding `token`. */
    async function v1Claim(token = ahead) {
      const key = IdempotencyKey.random();
      const recordKey = store.recordKey(key);
      await claimV1(raw, recordKey, token);
      return { key, recordKey, token: FencingToken.from(token) };
    }

    it("replays a completed version-1 record, binary body and headers intact, without changing it", async () => {
      const { key, recordKey } = await v1Claim();
      await completeV1(raw, recordKey);
      const before = await raw.dumpBuffer(recordKey);
      for (const result of [await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease)]) {
        if (result.kind !== "exists" || result.entry.state !== "completed") {
          throw new Error(`expected a completed entry, got ${result.kind}`);
        }
        expect(result.entry.response.status).toBe(201);
        expect(result.entry.response.headers).toEqual([
          ["content-type", "application/octet-stream"],
        ]);
        expect(Buffer.from(result.entry.response.body).equals(binaryBody)).toBe(true);
        expect(result.expiresAt).toBeGreaterThan(Date.now() + 500_000);
      }
      expect((await store.get(key))?.entry.state).toBe("completed");
      const outcome = await new Idempotency({ store }).execute(
        key,
        { fingerprint },
        () => "never run",
      );
      expect(outcome.kind).toBe("replayed");
      // Reads leave the hash as 0.1.0 wrote it.
      expect(await raw.dumpBuffer(recordKey)).toEqual(before);
      expect(await raw.type(recordKey)).toBe("hash");
    });

    it("reports a version-1 claim in flight, and completes it with its token, migrating it", async () => {
      const { key, recordKey, token } = await v1Claim();
      const found = await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease);
      expect(found.kind === "exists" && found.entry.state).toBe("processing");
      const response = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from(binaryBody));
      const stale = FencingToken.from(ahead - 1n);
      expect((await store.complete(key, response, stale, retention)).kind).toBe("fencing-mismatch");
      const foreign = IdempotencyEntry.new(other).complete(CachedResponse.from("other"));
      expect((await store.complete(key, foreign, token, retention)).kind).toBe(
        "fingerprint-mismatch",
      );
      expect(await raw.type(recordKey)).toBe("hash");
      expect((await store.complete(key, response, token, retention)).kind).toBe("applied");
      const record = await readV2(raw, recordKey);
      expect(record?.state).toBe("c");
      expect(record?.token).toBe(ahead);
      expect(record?.body.equals(binaryBody)).toBe(true);
      expect(await raw.pttl(recordKey)).toBeGreaterThan(600_000);
      // A retry of the completion keeps the first; the entry replays.
      const again = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("again"));
      expect((await store.complete(key, again, token, retention)).kind).toBe("applied");
      const stored = await store.get(key);
      if (stored?.entry.state !== "completed") throw new Error("expected a completed entry");
      expect(Buffer.from(stored.entry.response.body).equals(binaryBody)).toBe(true);
    });

    it("keeps a completed version-1 record when its claim's completion is retried", async () => {
      const { key, recordKey, token } = await v1Claim();
      await completeV1(raw, recordKey);
      const again = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("again"));
      expect((await store.complete(key, again, token, retention)).kind).toBe("applied");
      expect(await raw.hgetBuffer(recordKey, "b")).toEqual(binaryBody);
    });

    it("extends a version-1 claim with its token only, migrating it, then completes it", async () => {
      const { key, recordKey, token } = await v1Claim();
      expect(
        (await store.touch(key, FencingToken.from(ahead + 1n), { leaseTtlMs: 900_000 })).kind,
      ).toBe("fencing-mismatch");
      expect((await store.touch(key, token, { leaseTtlMs: 900_000 })).kind).toBe("applied");
      const record = await readV2(raw, recordKey);
      expect(record).toMatchObject({ state: "p", token: ahead });
      const stored = await store.get(key);
      expect(stored?.entry.state).toBe("processing");
      expect(stored?.expiresAt).toBeGreaterThan(Date.now() + 800_000);
      expect(await raw.pttl(recordKey)).toBeGreaterThan(900_000);
      const response = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("done"));
      expect((await store.complete(key, response, token, retention)).kind).toBe("applied");
    });

    it("releases a version-1 claim into a tombstone that orders the next claim", async () => {
      const { key, recordKey, token } = await v1Claim();
      expect((await store.remove(key, FencingToken.from(ahead - 1n))).kind).toBe(
        "fencing-mismatch",
      );
      expect((await store.remove(key, token)).kind).toBe("applied");
      expect(await raw.get(recordKey)).toBe(tombstoneOf(ahead));
      expect(await store.get(key)).toBeUndefined();
      const next = claimed(await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease));
      expect(next.fencingToken.value).toBe(ahead + 1n);
      expect((await store.touch(key, token, lease)).kind).toBe("fencing-mismatch");
    });

    it("purges a version-1 record into a tombstone, keeping its token", async () => {
      const { key, recordKey } = await v1Claim();
      await completeV1(raw, recordKey);
      expect(await store.purge(key)).toBe(true);
      expect(await raw.get(recordKey)).toBe(tombstoneOf(ahead));
      expect(await store.purge(key)).toBe(false);
      const next = claimed(await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease));
      expect(next.fencingToken.value).toBe(ahead + 1n);
    });

    it("re-claims an expired version-1 record above its token, fencing off its old owner", async () => {
      const { key, recordKey, token } = await v1Claim();
      await raw.hset(recordKey, "exp", String(Date.now() - 1000));
      expect(await store.get(key)).toBeUndefined();
      const response = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("late"));
      expect((await store.complete(key, response, token, retention)).kind).toBe("key-expired");
      const next = claimed(await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease));
      expect(next.fencingToken.value).toBe(ahead + 1n);
      expect(await readV2(raw, recordKey)).toMatchObject({ state: "p", token: ahead + 1n });
      expect((await store.complete(key, response, token, retention)).kind).toBe("fencing-mismatch");
      expect((await store.complete(key, response, next.fencingToken, retention)).kind).toBe(
        "applied",
      );
    });

    it("issues a version-2 token above a version-1 token taken from the server clock", async () => {
      // A token as 0.1.0 issued it a moment ago: the clock in microseconds.
      const { key, recordKey, token } = await v1Claim(BigInt(Date.now()) * 1000n);
      expect((await store.remove(key, token)).kind).toBe("applied");
      const next = claimed(await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease));
      expect(next.fencingToken.isNewerThan(token)).toBe(true);
      expect((await readV2(raw, recordKey))?.token).toBe(next.fencingToken.value);
    });
  });
}
