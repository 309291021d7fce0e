import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { InvalidKeyError } from "../../src/errors/invalid-key-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { connect, type ConnectedClient } from "../servers/clients.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { checkServerConfig } from "../../src/stores/valkey/check-server-config.ts";
import { recordVersion } from "../../src/stores/valkey/scripts.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { encodeV2, readV2, tombstoneOf, v2Tail, writeV1, writeV2 } from "./valkey-records.ts";

const fingerprint = Fingerprint.fromHex("12".repeat(16));
const entry = () => IdempotencyEntry.new(fingerprint);
const lease = (ttlMs = 60_000) => ({ leaseTtlMs: ttlMs });

async function captured(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("ValkeyStore", () => {
  let server: ServerProcess;
  let raw: Redis;
  let connected: ConnectedClient;
  let store: ValkeyStore;

  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    raw = new Redis(server.port, "127.0.0.1");
    connected = await connect("ioredis", server.port);
    store = new ValkeyStore({ client: connected.client, prefix: "svc" });
  });
  afterAll(async () => {
    raw.disconnect();
    await connected.close();
    await server.stop();
  });

  it("lays records out as <prefix>:{<key>} and validates the prefix", () => {
    expect(store.recordKey(IdempotencyKey.parse("order-1"))).toBe("svc:{order-1}");
    expect(() => new ValkeyStore({ client: connected.client, prefix: "a:b" })).toThrow(
      InvalidKeyError,
    );
    expect(() => new ValkeyStore({ client: connected.client, prefix: "" })).toThrow(
      InvalidKeyError,
    );
  });

  it("validates operationTimeoutMs as a positive integer a timer can hold", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(
        () => new ValkeyStore({ client: connected.client, operationTimeoutMs: bad }),
        String(bad),
      ).toThrow(InvalidArgumentError);
      await expect(checkServerConfig(connected.client, { timeoutMs: bad })).rejects.toThrow(
        InvalidArgumentError,
      );
    }
    const quick = new ValkeyStore({ client: connected.client, operationTimeoutMs: 1 });
    expect(quick).toBeInstanceOf(ValkeyStore);
  });

  it("stores bodies as raw bytes, not base64", async () => {
    const key = IdempotencyKey.random();
    const claim = await store.tryInsert(key, entry(), lease());
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    const body = new Uint8Array([0, 1, 2, 255, 254, 13, 10]);
    await store.complete(key, claim.entry.complete(CachedResponse.from(body)), claim.fencingToken, {
      retentionTtlMs: 60_000,
    });
    const stored = await readV2(raw, store.recordKey(key));
    expect(stored?.body.equals(Buffer.from(body))).toBe(true);
    expect(stored?.record.toString("latin1", 0, 1)).toBe(recordVersion);
  });

  it("issues server-clock tokens above a tombstone's last token", async () => {
    const key = IdempotencyKey.random();
    const before = BigInt(Date.now() - 60_000) * 1000n;
    const first = await store.tryInsert(key, entry(), lease());
    if (first.kind !== "claimed") throw new Error("expected a claim");
    expect(first.fencingToken.value > before).toBe(true);
    // A tombstone whose token is ahead of the server clock (as after a clock step back).
    const ahead = 8_000_000_000_000_000n;
    // In either layout: a version-1 tombstone left by 0.1.0, or a version-2 one.
    for (const write of [
      () => writeV1(raw, store.recordKey(key), { v: "1", s: "t", tok: ahead.toString() }),
      () => writeV2(raw, store.recordKey(key), Buffer.from(tombstoneOf(ahead))),
    ]) {
      await write();
      const next = await store.tryInsert(key, entry(), lease());
      if (next.kind !== "claimed") throw new Error("expected a claim");
      expect(next.fencingToken.value).toBe(ahead + 1n);
    }
  });

  it("keeps an expired record's token, so the next claim's token is above it", async () => {
    const key = IdempotencyKey.random();
    const ahead = 8_100_000_000_000_000n;
    // An entry that expired logically a second ago, its token ahead of the server clock.
    await raw.hset(store.recordKey(key), {
      v: "1",
      s: "c",
      fp: fingerprint.hex,
      tok: ahead.toString(),
      lease: "1000",
      st: "200",
      h: "[]",
      b: "",
      exp: String(Date.now() - 1000),
    });
    await raw.pexpire(store.recordKey(key), 60_000);
    expect(await store.get(key)).toBeUndefined();
    const next = await store.tryInsert(key, entry(), lease());
    if (next.kind !== "claimed") throw new Error("expected a claim");
    expect(next.fencingToken.value).toBe(ahead + 1n);
    // The server keeps the record past its lease so the token survives expiry.
    expect(await raw.pttl(store.recordKey(key))).toBeGreaterThan(60_000);
  });

  it("survives SCRIPT FLUSH in the middle of a workload without an error reaching callers", async () => {
    const idempotency = new Idempotency({ store });
    let flushes = 0;
    const workload = { running: true };
    const flusher = (async () => {
      while (workload.running) {
        await raw.script("FLUSH");
        flushes++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    let executed = 0;
    const keys = Array.from({ length: 1500 }, () => IdempotencyKey.random());
    for (let start = 0; start < keys.length; start += 50) {
      const outcomes = await Promise.all(
        keys.slice(start, start + 50).map((key) =>
          idempotency.execute(key, { operation: "POST /x" }, () => {
            executed++;
            return "ok";
          }),
        ),
      );
      expect(outcomes.every((outcome) => outcome.kind === "executed")).toBe(true);
    }
    workload.running = false;
    await flusher;
    expect(flushes).toBeGreaterThan(3);
    expect(executed).toBe(keys.length);
  });

  it("refuses corrupt and unknown-version records with MalformedRecordError, never a replay", async () => {
    const key = IdempotencyKey.random();
    const recordKey = store.recordKey(key);
    // A valid expiry in the future: the record passes the scripts' checks, the decoder decides.
    const exp = String(Date.now() + 60_000);
    const cases: [string, () => Promise<unknown>][] = [
      ["a string value", () => raw.set(recordKey, "garbage")],
      ["a list", () => raw.rpush(recordKey, "2c")],
      ["an unknown version string", () => writeV2(raw, recordKey, { version: "3" })],
      [
        "an unknown version",
        () => raw.hset(recordKey, { v: "9", s: "c", fp: fingerprint.hex, tok: "1" }),
      ],
      ["an unknown state", () => raw.hset(recordKey, { v: "1", s: "x", tok: "1" })],
      ["a hash without state", () => raw.hset(recordKey, { v: "1", tok: "1" })],
      [
        "a bad fingerprint",
        () => raw.hset(recordKey, { v: "1", s: "p", fp: "zz", tok: "1", lease: "1000", exp }),
      ],
      [
        "bad headers",
        () =>
          raw.hset(recordKey, {
            v: "1",
            s: "c",
            fp: fingerprint.hex,
            tok: "1",
            exp,
            st: "200",
            h: "{",
            b: "",
          }),
      ],
      [
        "a bad status",
        () =>
          raw.hset(recordKey, {
            v: "1",
            s: "c",
            fp: fingerprint.hex,
            tok: "1",
            exp,
            st: "20x",
            h: "[]",
            b: "",
          }),
      ],
      [
        "a missing body",
        () =>
          raw.hset(recordKey, {
            v: "1",
            s: "c",
            fp: fingerprint.hex,
            tok: "1",
            exp,
            st: "200",
            h: "[]",
          }),
      ],
    ];
    for (const [name, write] of cases) {
      await raw.del(recordKey);
      await write();
      await raw.pexpire(recordKey, 60_000);
      const reads = [store.tryInsert(key, entry(), lease()), store.get(key)];
      for (const read of reads) {
        const error = await captured(read);
        expect(error, name).toBeInstanceOf(MalformedRecordError);
      }
      // purge is the way out of a corrupt record.
      expect(await store.purge(key), name).toBe(true);
      expect((await store.tryInsert(key, entry(), lease())).kind, name).toBe("claimed");
    }
  });

  /** Reads `key` back: a well-formed entry or a MalformedRecordError, counted; nothing else. */
  async function tally(key: IdempotencyKey, answers: { entries: number; errors: number }) {
    try {
      const stored = await store.get(key);
      if (stored !== undefined) {
        expect(["processing", "completed"]).toContain(stored.entry.state);
        answers.entries++;
      }
    } catch (error) {
      expect(error).toBeInstanceOf(MalformedRecordError);
      answers.errors++;
    }
  }

  it("answers random version-1 record contents only with a typed error or a well-formed entry", async () => {
    const key = IdempotencyKey.random();
    const recordKey = store.recordKey(key);
    const exp = String(Date.now() + 3_600_000);
    // Valid records with a few fields replaced or dropped: most get past the scripts' checks
    // (version, state, token, expiry), so the decoder is what answers.
    const fields = ["v", "s", "fp", "tok", "lease", "st", "h", "b", "exp"] as const;
    const base = fc.constantFrom<Record<string, string>>(
      { v: "1", s: "c", fp: fingerprint.hex, tok: "12", st: "200", h: "[]", b: "x", exp },
      { v: "1", s: "p", fp: fingerprint.hex, tok: "12", lease: "1000", exp },
    );
    const value = fc.oneof(
      fc.constantFrom("p", "c", "t", "0", "1", "", "200", "[]", '[["a","b"]]', exp),
      fc.string(),
    );
    const record = fc
      .tuple(
        base,
        fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: 2 }),
        fc.subarray([...fields], { maxLength: 1 }),
      )
      .map(([valid, replaced, dropped]) =>
        Object.fromEntries(
          Object.entries({ ...valid, ...replaced }).filter(
            ([field]) => !(dropped as string[]).includes(field),
          ),
        ),
      )
      .filter((fields) => Object.keys(fields).length > 0);
    const answers = { entries: 0, errors: 0 };
    await fc.assert(
      fc.asyncProperty(record, async (fields) => {
        await raw.del(recordKey);
        await raw.hset(recordKey, fields);
        await raw.pexpire(recordKey, 60_000);
        await tally(key, answers);
      }),
      { numRuns: 300 },
    );
    // Both answers happened: the property was not decided by the scripts alone.
    expect(answers.entries).toBeGreaterThan(30);
    expect(answers.errors).toBeGreaterThan(30);
  });

  it("answers random version-2 record contents only with a typed error or a well-formed entry", async () => {
    const key = IdempotencyKey.random();
    const recordKey = store.recordKey(key);
    // Valid records with a few bytes replaced, or cut short: most keep a valid token and a
    // future expiry, so the decoder is what answers.
    const since = Date.now();
    const base = fc.constantFrom(
      encodeV2({ state: "c", since, ttl: 3_600_000, tail: v2Tail("200", '[["a","b"]]', "x") }),
      encodeV2({ state: "p", since, ttl: 3_600_000 }),
    );
    const bytes = fc.constantFrom(...Buffer.from('0129 .e+-xpct2[]{}"\xff', "latin1"));
    const record = fc
      .tuple(
        base,
        fc.array(fc.tuple(fc.nat(110), bytes), { maxLength: 2 }),
        fc.option(fc.nat(110), { nil: undefined }),
      )
      .map(([valid, replaced, cut]) => {
        const changed = Buffer.from(valid);
        for (const [at, byte] of replaced) if (at < changed.length) changed[at] = byte;
        return cut === undefined ? changed : changed.subarray(0, cut);
      });
    const answers = { entries: 0, errors: 0 };
    await fc.assert(
      fc.asyncProperty(record, async (value) => {
        await writeV2(raw, recordKey, value, 60_000);
        await tally(key, answers);
      }),
      { numRuns: 300 },
    );
    expect(answers.entries).toBeGreaterThan(30);
    expect(answers.errors).toBeGreaterThan(30);
  });

  it("reports an unreachable server as a typed connection error", async () => {
    const dead = await startServer({ binary: "redis-server" });
    const client = await connect("ioredis", dead.port, { retries: 0 });
    const deadStore = new ValkeyStore({ client: client.client });
    await dead.stop();
    const error = await captured(deadStore.tryInsert(IdempotencyKey.random(), entry(), lease()));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).kind).toBe("connection");
    await client.close();
  });

  it("reports a read-only replica and an out-of-memory server as typed errors", async () => {
    const replica = await startServer({
      binary: "valkey-server",
      args: ["--replicaof", "127.0.0.1", String(server.port)],
    });
    const small = await startServer({
      binary: "valkey-server",
      args: ["--maxmemory-policy", "noeviction"],
    });
    const replicaClient = await connect("node-redis", replica.port);
    const smallClient = await connect("ioredis", small.port);
    try {
      const readOnly = await captured(
        new ValkeyStore({ client: replicaClient.client }).tryInsert(
          IdempotencyKey.random(),
          entry(),
          lease(),
        ),
      );
      expect(readOnly).toBeInstanceOf(StoreError);
      expect((readOnly as StoreError).kind).toBe("read-only");
      expect((readOnly as StoreError).ambiguous).toBe(false);

      const smallStore = new ValkeyStore({ client: smallClient.client });
      // A limit below what the server already uses: every writing command is refused.
      const used = Number(/used_memory:(\d+)/.exec(await small.cli("info", "memory"))?.[1]);
      await small.cli("config", "set", "maxmemory", String(Math.floor(used / 2)));
      const key = IdempotencyKey.random();
      const full = await captured(smallStore.tryInsert(key, entry(), lease()));
      expect(full).toBeInstanceOf(StoreError);
      expect((full as StoreError).kind).toBe("out-of-memory");
      expect((full as StoreError).ambiguous).toBe(false);
      // Nothing half-written: the record does not exist.
      expect(await smallStore.get(key)).toBeUndefined();
      const findings = await checkServerConfig(smallClient.client);
      expect(findings.some((finding) => finding.setting === "maxmemory-policy")).toBe(false);
    } finally {
      await replicaClient.close();
      await smallClient.close();
      await replica.stop();
      await small.stop();
    }
  });

  it("waits for replicas when asked, failing closed with a retryable replication error", async () => {
    expect(
      () =>
        new ValkeyStore({
          client: connected.client,
          waitForReplicas: { replicas: 0, timeoutMs: 10 },
        }),
    ).toThrow(InvalidArgumentError);
    const lonely = new ValkeyStore({
      client: connected.client,
      waitForReplicas: { replicas: 1, timeoutMs: 50 },
    });
    const error = await captured(lonely.tryInsert(IdempotencyKey.random(), entry(), lease()));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).kind).toBe("replication");
    expect((error as StoreError).retryable).toBe(true);

    const primary = await startServer({ binary: "redis-server" });
    const replica = await startServer({
      binary: "redis-server",
      args: ["--replicaof", "127.0.0.1", String(primary.port)],
    });
    const client = await connect("node-redis", primary.port);
    try {
      while (!(await primary.cli("info", "replication")).includes("state=online")) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const replicated = new ValkeyStore({
        client: client.client,
        waitForReplicas: { replicas: 1, timeoutMs: 2000 },
      });
      const key = IdempotencyKey.random();
      const claim = await replicated.tryInsert(key, entry(), lease());
      if (claim.kind !== "claimed") throw new Error("expected a claim");
      const outcome = await replicated.complete(
        key,
        claim.entry.complete(CachedResponse.from("replicated")),
        claim.fencingToken,
        { retentionTtlMs: 60_000 },
      );
      expect(outcome.kind).toBe("applied");
      expect(await replica.cli("getrange", replicated.recordKey(key), "1", "1")).toBe("c");
    } finally {
      await client.close();
      await replica.stop();
      await primary.stop();
    }
  });

  it("flags risky server settings", async () => {
    const findings = await checkServerConfig(connected.client);
    expect(findings.map((finding) => finding.setting)).toEqual(["appendonly"]);
    const lru = await startServer({
      binary: "redis-server",
      args: [
        "--maxmemory-policy",
        "allkeys-lru",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
      ],
    });
    const client = await connect("iovalkey", lru.port);
    try {
      const risky = await checkServerConfig(client.client);
      expect(risky.map(({ setting, severity }) => [setting, severity])).toEqual([
        ["maxmemory-policy", "error"],
        ["appendfsync", "warning"],
      ]);
    } finally {
      await client.close();
      await lru.stop();
    }
  });
});
