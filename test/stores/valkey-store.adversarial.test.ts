// Adversarial tests of the Valkey store's record layout version 2, written as an outside tester
// would: through the public API on Redis 7 and Valkey 8 with every client family, and through
// raw writes of corrupt and version-1 records (a damaged time or TTL, a version-1 claim without
// its fingerprint, byte-exact replays, token order, TTL extremes, deadlines).
import { Redis } from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { InsertResult } from "../../src/core/insert-result.ts";
import { maxTtlMs } from "../../src/core/ttl.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { ValkeyStore } from "../../src/stores/valkey/index.ts";
import {
  clientFamilies,
  connect,
  connectCluster,
  type ConnectedClient,
} from "../servers/clients.ts";
import {
  serverBinaries,
  startCluster,
  startServer,
  type ClusterProcess,
  type ServerProcess,
} from "../servers/redis-server.ts";
import { encodeV2, v2Tail, writeV1, writeV2 } from "./valkey-records.ts";

const fingerprint = Fingerprint.fromHex("3e".repeat(16));
const otherFingerprint = Fingerprint.fromHex("3f".repeat(16));
const entry = () => IdempotencyEntry.new(fingerprint);
const lease = { leaseTtlMs: 60_000 };
const retention = { retentionTtlMs: 60_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function claimed(result: InsertResult): Extract<InsertResult, { kind: "claimed" }> {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => error,
  );
}

/** Responses that must come back byte for byte. */
const responses: Record<string, () => CachedResponse> = {
  "empty body, no headers": () =>
    new CachedResponse({ status: 204, headers: [], body: new Uint8Array(0) }),
  "NUL and non-UTF-8 bytes": () =>
    new CachedResponse({
      status: 200,
      headers: [["content-type", "application/octet-stream"]],
      body: new Uint8Array([0, 0, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0d, 0x0a, 0]),
    }),
  "a body that looks like a record header": () =>
    new CachedResponse({
      status: 200,
      headers: [],
      body: Buffer.from(`2c${"9".repeat(16)}${"0".repeat(26)}${"ab".repeat(16)}2000000000002[]`),
    }),
  "header values with colons, length-prefix look-alikes, JSON and odd Unicode": () =>
    new CachedResponse({
      status: 599,
      headers: [
        ["x-colon", "a: b: c:"],
        ["x-prefix", "0000000099[]0000000000"],
        ["x-json", '"],["x-evil","1"]]'],
        ["x-unicode", "é漢字🙂\u2028\u2029\ud800 lone \udfff"],
        ["x-empty", ""],
        ["x-empty", ""],
      ],
      body: Buffer.from("0000000002[]"),
    }),
  "a 1 MiB header value and a view into a larger buffer as body": () => {
    const backing = new Uint8Array(1000);
    backing.fill(7);
    backing.set([1, 2, 3], 500);
    return new CachedResponse({
      status: 201,
      headers: [["x-huge", "v".repeat(1024 * 1024)]],
      body: backing.subarray(500, 503),
    });
  },
  "5000 headers": () =>
    new CachedResponse({
      status: 200,
      headers: Array.from({ length: 5000 }, (_, index): [string, string] => [
        `x-h${index}`,
        String(index).padStart(10, "0"),
      ]),
      body: Buffer.from("many"),
    }),
};

function expectSameResponse(actual: CachedResponse, expected: CachedResponse): void {
  expect(actual.status).toBe(expected.status);
  expect(actual.headers).toEqual(expected.headers);
  expect(Buffer.from(actual.body).equals(Buffer.from(expected.body))).toBe(true);
}

for (const binary of serverBinaries) {
  describe(`ValkeyStore v2 under attack (${binary})`, () => {
    let server: ServerProcess;
    let raw: Redis;
    beforeAll(async () => {
      server = await startServer({ binary });
      raw = new Redis(server.port, "127.0.0.1");
    });
    afterAll(async () => {
      raw.disconnect();
      await server.stop();
    });

    for (const family of clientFamilies) {
      describe(`via ${family}`, () => {
        let connected: ConnectedClient;
        let store: ValkeyStore;
        beforeAll(async () => {
          connected = await connect(family, server.port);
          store = new ValkeyStore({ client: connected.client, prefix: `attack-${family}` });
        });
        afterAll(async () => {
          await connected.close();
        });

        it("round-trips responses byte for byte, through tryInsert and get", async () => {
          for (const [name, make] of Object.entries(responses)) {
            const key = IdempotencyKey.random();
            const claim = claimed(await store.tryInsert(key, entry(), lease));
            const response = make();
            const outcome = await store.complete(
              key,
              claim.entry.complete(response),
              claim.fencingToken,
              retention,
            );
            expect(outcome.kind, name).toBe("applied");
            const found = await store.tryInsert(key, entry(), lease);
            if (found.kind !== "exists" || found.entry.state !== "completed") {
              throw new Error(`${name}: expected a completed entry`);
            }
            expectSameResponse(found.entry.response, response);
            const stored = await store.get(key);
            if (stored?.entry.state !== "completed") throw new Error(`${name}: expected get`);
            expectSameResponse(stored.entry.response, response);
          }
        });

        it("keeps tokens strictly increasing across release, purge, expiry and completion", async () => {
          const key = IdempotencyKey.random();
          const tokens: FencingToken[] = [];
          const first = claimed(await store.tryInsert(key, entry(), lease));
          tokens.push(first.fencingToken);
          expect((await store.remove(key, first.fencingToken)).kind).toBe("applied");
          const second = claimed(await store.tryInsert(key, entry(), lease));
          tokens.push(second.fencingToken);
          expect(await store.purge(key)).toBe(true);
          const third = claimed(await store.tryInsert(key, entry(), { leaseTtlMs: 1 }));
          tokens.push(third.fencingToken);
          await sleep(5);
          const fourth = claimed(await store.tryInsert(key, entry(), lease));
          tokens.push(fourth.fencingToken);
          const done = fourth.entry.complete(CachedResponse.from("ok"));
          expect(
            (await store.complete(key, done, fourth.fencingToken, { retentionTtlMs: 1 })).kind,
          ).toBe("applied");
          await sleep(5);
          const fifth = claimed(await store.tryInsert(key, entry(), lease));
          tokens.push(fifth.fencingToken);
          for (let index = 1; index < tokens.length; index++) {
            expect(tokens[index]?.isNewerThan(tokens[index - 1] as FencingToken)).toBe(true);
          }
          // Every earlier owner is fenced off, whatever it tries.
          for (const stale of tokens.slice(0, -1)) {
            const late = entry().complete(CachedResponse.from("late"));
            expect((await store.complete(key, late, stale, retention)).kind).toBe(
              "fencing-mismatch",
            );
            expect((await store.touch(key, stale, lease)).kind).toBe("fencing-mismatch");
            expect((await store.remove(key, stale)).kind).toBe("fencing-mismatch");
          }
        });

        it("refuses tokens wider than 16 digits, even one ending in the live token's digits", async () => {
          const key = IdempotencyKey.random();
          const claim = claimed(await store.tryInsert(key, entry(), lease));
          const value = claim.fencingToken.value;
          for (const wide of [value + 10n ** 16n, value + 9n * 10n ** 16n, 2n ** 64n - 1n]) {
            const token = FencingToken.from(wide);
            const done = entry().complete(CachedResponse.from("x"));
            expect((await store.complete(key, done, token, retention)).kind).toBe(
              "fencing-mismatch",
            );
            expect((await store.touch(key, token, lease)).kind).toBe("fencing-mismatch");
            expect((await store.remove(key, token)).kind).toBe("fencing-mismatch");
          }
          expect((await store.get(key))?.entry.state).toBe("processing");
        });

        it("reports a fingerprint mismatch and leaves the claim alone", async () => {
          const key = IdempotencyKey.random();
          const claim = claimed(await store.tryInsert(key, entry(), lease));
          const foreign = IdempotencyEntry.new(otherFingerprint).complete(CachedResponse.from("x"));
          expect((await store.complete(key, foreign, claim.fencingToken, retention)).kind).toBe(
            "fingerprint-mismatch",
          );
          expect((await store.get(key))?.entry.state).toBe("processing");
        });

        it("honours 1 ms and the maximum TTL per call, and refuses anything else", async () => {
          const key = IdempotencyKey.random();
          const recordKey = store.recordKey(key);
          const claim = claimed(await store.tryInsert(key, entry(), { leaseTtlMs: maxTtlMs }));
          const stored = await store.get(key);
          expect(stored?.expiresAt).toBeGreaterThan(Date.now() + maxTtlMs - 60_000);
          expect(await raw.pttl(recordKey)).toBeGreaterThan(maxTtlMs);
          expect((await store.touch(key, claim.fencingToken, { leaseTtlMs: 1 })).kind).toBe(
            "applied",
          );
          await sleep(5);
          expect(await store.get(key)).toBeUndefined();
          const next = claimed(await store.tryInsert(key, entry(), lease));
          const done = next.entry.complete(CachedResponse.from("kept"));
          expect(
            (await store.complete(key, done, next.fencingToken, { retentionTtlMs: maxTtlMs })).kind,
          ).toBe("applied");
          expect((await store.get(key))?.expiresAt).toBeGreaterThan(Date.now() + maxTtlMs - 60_000);
          for (const bad of [0, -1, 1.5, maxTtlMs + 1, Number.NaN, Infinity, 2 ** 53]) {
            await expect(store.tryInsert(key, entry(), { leaseTtlMs: bad })).rejects.toThrow(
              InvalidArgumentError,
            );
            await expect(store.touch(key, next.fencingToken, { leaseTtlMs: bad })).rejects.toThrow(
              InvalidArgumentError,
            );
            await expect(
              store.complete(key, done, next.fencingToken, { retentionTtlMs: bad }),
            ).rejects.toThrow(InvalidArgumentError);
          }
        });

        it("gives claims racing on 1 ms leases distinct, increasing tokens", async () => {
          const key = IdempotencyKey.random();
          const results = await Promise.all(
            Array.from({ length: 200 }, () => store.tryInsert(key, entry(), { leaseTtlMs: 1 })),
          );
          const tokens = results
            .filter((result) => result.kind === "claimed")
            .map((result) => result.fencingToken.value);
          expect(new Set(tokens).size).toBe(tokens.length);
          // ioredis and node-redis keep a connection's replies in order: the server's order.
          expect([...tokens].sort((a, b) => (a < b ? -1 : 1))).toEqual(tokens);
        });

        it("lets exactly one of many concurrent claims win", async () => {
          const key = IdempotencyKey.random();
          const results = await Promise.all(
            Array.from({ length: 50 }, () => store.tryInsert(key, entry(), lease)),
          );
          expect(results.filter((result) => result.kind === "claimed")).toHaveLength(1);
        });

        it("gives every operation a deadline while the server is stopped", async () => {
          const quick = new ValkeyStore({
            client: connected.client,
            prefix: `deadline-${family}`,
            operationTimeoutMs: 200,
          });
          const key = IdempotencyKey.random();
          const claim = claimed(await quick.tryInsert(key, entry(), lease));
          process.kill(server.pid(), "SIGSTOP");
          try {
            const done = claim.entry.complete(CachedResponse.from("x"));
            const operations: [string, () => Promise<unknown>][] = [
              ["tryInsert", () => quick.tryInsert(IdempotencyKey.random(), entry(), lease)],
              ["complete", () => quick.complete(key, done, claim.fencingToken, retention)],
              ["touch", () => quick.touch(key, claim.fencingToken, lease)],
              ["remove", () => quick.remove(key, claim.fencingToken)],
              ["get", () => quick.get(key)],
              ["purge", () => quick.purge(key)],
            ];
            for (const [name, operation] of operations) {
              const started = Date.now();
              const error = await rejection(operation());
              expect(error, name).toBeInstanceOf(StoreError);
              expect((error as StoreError).kind, name).toBe("timeout");
              expect(Date.now() - started, name).toBeLessThan(1500);
            }
          } finally {
            process.kill(server.pid(), "SIGCONT");
          }
          // Commands queued meanwhile may still run; let them drain before the next test.
          await sleep(300);
        });
      });
    }

    describe("raw records", () => {
      let connected: ConnectedClient;
      let store: ValkeyStore;
      beforeAll(async () => {
        connected = await connect("ioredis", server.port);
        store = new ValkeyStore({ client: connected.client, prefix: "attack-raw" });
      });
      afterAll(async () => {
        await connected.close();
      });

      // A live completed record whose `since` (or `ttl`) is not 16 (10) decimal digits but
      // something Lua's tonumber accepts: the decoder calls it corrupt, the scripts call it
      // expired and overwrite it.
      const nonDigitTimes: [string, Partial<Parameters<typeof encodeV2>[0]>][] = [
        ["since negative", { since: "-000000000000001" }],
        ["since hexadecimal", { since: "0x00000000000001" }],
        ["since with spaces", { since: "               1" }],
        ["since with one byte turned into a dot", { since: "1.96150000000000" }],
        ["ttl with one byte turned into a dot", { ttl: "0000.60000" }],
        ["ttl negative", { ttl: "-000000001" }],
        ["ttl -inf", { ttl: "-inf      " }],
      ];
      for (const [name, parts] of nonDigitTimes) {
        it(`refuses a completed record with ${name} as corrupt instead of overwriting it`, async () => {
          const key = IdempotencyKey.random();
          const recordKey = store.recordKey(key);
          const record = encodeV2({
            state: "c",
            token: 1_000_000_000_000_000n,
            since: Date.now(),
            ttl: 600_000,
            fingerprint: fingerprint.hex,
            tail: v2Tail("200", "[]", "the response"),
            ...parts,
          });
          await writeV2(raw, recordKey, record);
          expect(await rejection(store.get(key))).toBeInstanceOf(MalformedRecordError);
          expect(await rejection(store.tryInsert(key, entry(), lease))).toBeInstanceOf(
            MalformedRecordError,
          );
          expect(await raw.getBuffer(recordKey)).toEqual(record);
        });
      }

      it("answers keys of other types with MalformedRecordError on every operation", async () => {
        const key = IdempotencyKey.random();
        const recordKey = store.recordKey(key);
        const token = FencingToken.from(1_000_000_000_000_000n);
        const done = entry().complete(CachedResponse.from("x"));
        for (const write of [
          () => raw.rpush(recordKey, "a"),
          () => raw.sadd(recordKey, "a"),
          () => raw.zadd(recordKey, 1, "a"),
          () => raw.xadd(recordKey, "*", "a", "b"),
        ]) {
          await raw.del(recordKey);
          await write();
          for (const operation of [
            () => store.get(key),
            () => store.tryInsert(key, entry(), lease),
            () => store.complete(key, done, token, retention),
            () => store.touch(key, token, lease),
            () => store.remove(key, token),
          ]) {
            expect(await rejection(operation())).toBeInstanceOf(MalformedRecordError);
          }
          expect(await store.purge(key)).toBe(true);
          expect(await raw.exists(recordKey)).toBe(0);
        }
      });

      it("never replays a completed record cut anywhere in its header or tail", async () => {
        const key = IdempotencyKey.random();
        const recordKey = store.recordKey(key);
        const full = encodeV2({
          state: "c",
          token: 1_000_000_000_000_000n,
          since: Date.now(),
          ttl: 600_000,
          fingerprint: fingerprint.hex,
          tail: v2Tail("200", '[["a","b"]]', ""),
        });
        for (let length = 0; length < full.length; length++) {
          await writeV2(raw, recordKey, full.subarray(0, length));
          const result = await rejection(store.get(key));
          expect(result, `cut at ${length}`).toBeInstanceOf(MalformedRecordError);
        }
      });

      it("does not migrate a version-1 claim without a fingerprint into a corrupt record", async () => {
        const key = IdempotencyKey.random();
        const recordKey = store.recordKey(key);
        await writeV1(raw, recordKey, {
          v: "1",
          s: "p",
          tok: "1000000000000000",
          lease: "60000",
          exp: String(Date.now() + 60_000),
        });
        const token = FencingToken.from(1_000_000_000_000_000n);
        const touched = await rejection(store.touch(key, token, lease));
        expect(touched).toBeInstanceOf(MalformedRecordError);
        expect(await raw.type(recordKey)).toBe("hash");
      });

      it("answers a completion of a version-1 claim without a fingerprint as corrupt", async () => {
        const key = IdempotencyKey.random();
        await writeV1(raw, store.recordKey(key), {
          v: "1",
          s: "p",
          tok: "1000000000000000",
          lease: "60000",
          exp: String(Date.now() + 60_000),
        });
        const token = FencingToken.from(1_000_000_000_000_000n);
        const done = entry().complete(CachedResponse.from("x"));
        const outcome = await rejection(store.complete(key, done, token, retention));
        expect(outcome).toBeInstanceOf(MalformedRecordError);
      });

      it("keeps token order from a version-1 token at the 2^53 limit", async () => {
        const key = IdempotencyKey.random();
        const recordKey = store.recordKey(key);
        await writeV1(raw, recordKey, { v: "1", s: "t", tok: String(Number.MAX_SAFE_INTEGER) });
        const error = await rejection(store.tryInsert(key, entry(), lease));
        expect(error).toBeInstanceOf(MalformedRecordError);
        expect(await raw.type(recordKey)).toBe("hash");
      });
    });
  });
}

describe("ValkeyStore v2 through other client set-ups (valkey-server)", () => {
  let server: ServerProcess;
  let raw: Redis;
  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server", args: ["--proto-max-bulk-len", "1mb"] });
    raw = new Redis(server.port, "127.0.0.1");
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  it("round-trips and fences through a node-redis client speaking RESP3", async () => {
    const client = createClient({ RESP: 3, socket: { port: server.port, host: "127.0.0.1" } });
    client.on("error", () => undefined);
    await client.connect();
    try {
      const store = new ValkeyStore({ client, prefix: "resp3" });
      for (const make of Object.values(responses).slice(0, 4)) {
        const key = IdempotencyKey.random();
        const claim = claimed(await store.tryInsert(key, entry(), lease));
        const response = make();
        const done = claim.entry.complete(response);
        expect((await store.complete(key, done, claim.fencingToken, retention)).kind).toBe(
          "applied",
        );
        const stored = await store.get(key);
        if (stored?.entry.state !== "completed") throw new Error("expected a completed entry");
        expectSameResponse(stored.entry.response, response);
      }
      // A version-1 processing record (nil fields in the reply) and a completed one.
      const key = IdempotencyKey.random();
      await writeV1(raw, store.recordKey(key), {
        v: "1",
        s: "p",
        fp: fingerprint.hex,
        tok: "1000000000000000",
        lease: "60000",
        exp: String(Date.now() + 60_000),
      });
      const found = await store.tryInsert(key, entry(), lease);
      expect(found.kind === "exists" && found.entry.state).toBe("processing");
      await raw.hset(store.recordKey(key), {
        s: "c",
        st: "200",
        h: "[]",
        b: Buffer.from([0, 255]),
      });
      const replay = await store.get(key);
      if (replay?.entry.state !== "completed") throw new Error("expected a completed entry");
      expect(Buffer.from(replay.entry.response.body)).toEqual(Buffer.from([0, 255]));
    } finally {
      client.destroy();
    }
  });

  for (const family of clientFamilies) {
    it(`falls back to EVAL after SCRIPT FLUSH and replays version-1 records via ${family}`, async () => {
      const connected = await connect(family, server.port);
      try {
        const store = new ValkeyStore({ client: connected.client, prefix: `flush-${family}` });
        const key = IdempotencyKey.random();
        await writeV1(raw, store.recordKey(key), {
          v: "1",
          s: "c",
          fp: fingerprint.hex,
          tok: "1000000000000000",
          lease: "60000",
          st: "203",
          h: JSON.stringify([["x-a", "b: c"]]),
          exp: String(Date.now() + 60_000),
        });
        await raw.hset(store.recordKey(key), "b", Buffer.from([0, 0xc3, 0x28, 0xff]));
        await raw.script("FLUSH");
        const found = await store.tryInsert(key, entry(), lease);
        if (found.kind !== "exists" || found.entry.state !== "completed") {
          throw new Error("expected a completed version-1 entry");
        }
        expect(found.entry.response.status).toBe(203);
        expect(found.entry.response.headers).toEqual([["x-a", "b: c"]]);
        expect(Buffer.from(found.entry.response.body)).toEqual(Buffer.from([0, 0xc3, 0x28, 0xff]));
        // The completion retry of that version-1 claim keeps the first response.
        const again = entry().complete(CachedResponse.from("again"));
        const token = FencingToken.from(1_000_000_000_000_000n);
        expect((await store.complete(key, again, token, retention)).kind).toBe("applied");
        expect(await raw.type(store.recordKey(key))).toBe("hash");
      } finally {
        await connected.close();
      }
    });

    it(`fails a completion above proto-max-bulk-len with a typed error, and recovers, via ${family}`, async () => {
      const connected = await connect(family, server.port);
      try {
        const store = new ValkeyStore({
          client: connected.client,
          prefix: `bulk-${family}`,
          operationTimeoutMs: 3000,
        });
        const key = IdempotencyKey.random();
        const claim = claimed(await store.tryInsert(key, entry(), lease));
        const big = claim.entry.complete(CachedResponse.from(new Uint8Array(2 * 1024 * 1024)));
        const error = await rejection(store.complete(key, big, claim.fencingToken, retention));
        expect(error).toBeInstanceOf(StoreError);
        await sleep(300);
        // The claim is untouched and still completes with a smaller response.
        const small = claim.entry.complete(CachedResponse.from("small"));
        expect((await store.complete(key, small, claim.fencingToken, retention)).kind).toBe(
          "applied",
        );
      } finally {
        await connected.close();
      }
    });
  }
});

describe("ValkeyStore v2 on a valkey-server cluster through iovalkey", () => {
  let cluster: ClusterProcess;
  let connected: ConnectedClient;
  beforeAll(async () => {
    cluster = await startCluster({ binary: "valkey-server" });
    connected = await connectCluster("iovalkey", cluster.rootNodes);
  }, 120_000);
  afterAll(async () => {
    await connected.close();
    await cluster.stop();
  });

  it("refuses a prefix holding braces, which would put every key of it in one slot", () => {
    for (const prefix of ["{tenant}", "a{b}", "a}b"]) {
      expect(() => new ValkeyStore({ client: connected.client, prefix })).toThrow(
        expect.objectContaining({ name: "InvalidArgumentError", argument: "prefix" }) as Error,
      );
    }
  });

  it("tags every record key with its key's slot, braces in keys included", async () => {
    const store = new ValkeyStore({ client: connected.client, prefix: "tagged" });
    const node = cluster.nodes[0] as ServerProcess;
    for (const value of [IdempotencyKey.random().value, "a}b", "{x}", "}", "{", "é漢🙂"]) {
      const key = IdempotencyKey.parse(value);
      const claim = claimed(await store.tryInsert(key, entry(), lease));
      const response = responses["NUL and non-UTF-8 bytes"]?.() as CachedResponse;
      expect(
        (await store.complete(key, claim.entry.complete(response), claim.fencingToken, retention))
          .kind,
      ).toBe("applied");
      const stored = await store.get(key);
      if (stored?.entry.state !== "completed") throw new Error(`${value}: expected a replay`);
      expectSameResponse(stored.entry.response, response);
      expect(await store.purge(key)).toBe(true);
      const slot = await node.cli("cluster", "keyslot", store.recordKey(key));
      if (!value.includes("}")) expect(slot).toBe(await node.cli("cluster", "keyslot", value));
    }
  });
});
