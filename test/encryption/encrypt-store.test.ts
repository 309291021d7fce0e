import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { readV2, replaceBody } from "../stores/valkey-records.ts";
import { runStoreConformance } from "../../src/testing/store-conformance.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { connectPostgres, type ConnectedPostgres } from "../servers/postgres-clients.ts";
import { startPostgres, type PostgresServer } from "../servers/postgres-server.ts";
import { migrate } from "../../src/stores/postgres/migrate.ts";
import { PostgresStore } from "../../src/stores/postgres/postgres-store.ts";
import { encryptStore, type EncryptionKey } from "../../src/encryption/encrypt-store.ts";

const keyA: EncryptionKey = { id: "2026-06", key: randomBytes(32) };
const keyB: EncryptionKey = { id: "2026-12", key: randomBytes(32) };
const fingerprint = Fingerprint.fromHex("5e".repeat(16));
const secretBody = "card 4111 1111 1111 1111, Jane Doe, 1 Main Street";
const secretHeader = "jane.doe@example.com";

async function completeSecret(store: IdempotencyStore, key: IdempotencyKey): Promise<void> {
  const claim = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
  if (claim.kind !== "claimed") throw new Error("expected a claim");
  const response = CachedResponse.from(
    { note: secretBody },
    { status: 201, headers: { "x-customer": secretHeader } },
  );
  const outcome = await store.complete(key, claim.entry.complete(response), claim.fencingToken);
  expect(outcome.kind).toBe("applied");
}

async function replayedText(store: IdempotencyStore, key: IdempotencyKey): Promise<string> {
  const stored = await store.get(key);
  if (stored?.entry.state !== "completed") throw new Error("expected a completed entry");
  return stored.entry.response.text();
}

let current: MemoryStore | undefined;
let clock = Date.now();
runStoreConformance({
  name: "encryptStore over MemoryStore",
  createStore: () => {
    current = new MemoryStore({ clock: { now: () => clock } });
    return encryptStore(current, { keys: [keyB, keyA] });
  },
  advanceTime: (ms) => {
    clock += ms;
  },
});

describe("encryptStore", () => {
  it("refuses a bad key set", () => {
    const memory = new MemoryStore();
    for (const keys of [
      [],
      [{ id: "a", key: randomBytes(16) }],
      [keyA, { ...keyB, id: keyA.id }],
      [{ id: "", key: randomBytes(32) }],
    ]) {
      expect(() => encryptStore(memory, { keys })).toThrow(InvalidArgumentError);
    }
  });

  describe("on a Valkey/Redis server", () => {
    let server: ServerProcess;
    let client: Redis;
    beforeAll(async () => {
      server = await startServer({ binary: "redis-server" });
      client = new Redis(server.port, "127.0.0.1");
    });
    afterAll(async () => {
      client.disconnect();
      await server.stop();
    });
    const valkey = (prefix: string) => new ValkeyStore({ client, prefix });
    const rawRecord = async (store: ValkeyStore, key: IdempotencyKey) =>
      (await client.getBuffer(store.recordKey(key))) ?? Buffer.alloc(0);

    it("keeps no plaintext of a cached response in the server's bytes, and replays it", async () => {
      const inner = valkey("enc");
      const store = encryptStore(inner, { keys: [keyA] });
      const key = IdempotencyKey.random();
      await completeSecret(store, key);
      const raw = await rawRecord(inner, key);
      expect(raw.byteLength).toBeGreaterThan(secretBody.length);
      for (const secret of [secretBody, secretHeader, "Jane", "4111", "x-customer"]) {
        expect(raw.includes(Buffer.from(secret))).toBe(false);
      }
      const replayed = await replayedText(store, key);
      expect(JSON.parse(replayed)).toEqual({ note: secretBody });
      const stored = await store.get(key);
      if (stored?.entry.state !== "completed") throw new Error("expected completed");
      expect(stored.entry.response.status).toBe(201);
      expect(stored.entry.response.headers).toContainEqual(["x-customer", secretHeader]);
      // Without the wrapper, the same record is only ciphertext.
      const plain = await inner.get(key);
      if (plain?.entry.state !== "completed") throw new Error("expected completed");
      expect(plain.entry.response.status).toBe(200);
    });

    it("rotates: reads under any listed key, writes under the newest, refuses a dropped key", async () => {
      const inner = valkey("rotate");
      const old = IdempotencyKey.random();
      await completeSecret(encryptStore(inner, { keys: [keyA] }), old);
      const rotated = encryptStore(inner, { keys: [keyB, keyA] });
      expect(JSON.parse(await replayedText(rotated, old))).toEqual({ note: secretBody });
      const fresh = IdempotencyKey.random();
      await completeSecret(rotated, fresh);
      expect((await rawRecord(inner, fresh)).includes(Buffer.from(keyB.id))).toBe(true);
      const onlyNew = encryptStore(inner, { keys: [keyB] });
      expect(JSON.parse(await replayedText(onlyNew, fresh))).toEqual({ note: secretBody });
      await expect(onlyNew.get(old)).rejects.toBeInstanceOf(MalformedRecordError);
      await expect(
        onlyNew.tryInsert(old, IdempotencyEntry.new(fingerprint)),
      ).rejects.toBeInstanceOf(MalformedRecordError);
    });

    it("refuses a tampered record and a record copied to another key, never replaying them", async () => {
      const inner = valkey("tamper");
      const store = encryptStore(inner, { keys: [keyA] });
      const key = IdempotencyKey.random();
      await completeSecret(store, key);
      const body = (await readV2(client, inner.recordKey(key)))?.body;
      if (body === undefined) throw new Error("no record");
      const copy = IdempotencyKey.random();
      await client.call("COPY", inner.recordKey(key), inner.recordKey(copy));
      await expect(store.get(copy)).rejects.toBeInstanceOf(MalformedRecordError);
      for (const offset of [4, 20, body.byteLength - 1]) {
        const tampered = Buffer.from(body);
        tampered[offset] = (tampered[offset] ?? 0) ^ 1;
        await replaceBody(client, inner.recordKey(key), tampered);
        await expect(store.get(key)).rejects.toBeInstanceOf(MalformedRecordError);
      }
      await replaceBody(client, inner.recordKey(key), body);
      expect(JSON.parse(await replayedText(store, key))).toEqual({ note: secretBody });
    });
  });
});

describe("encryptStore on PostgreSQL", () => {
  let server: PostgresServer;
  let connected: ConnectedPostgres;
  beforeAll(async () => {
    server = await startPostgres();
    connected = await connectPostgres("pg", server.url, 2);
    await migrate(connected.client);
  }, 120_000);
  afterAll(async () => {
    await connected.close();
    await server.stop();
  });

  it("keeps no plaintext of a cached response in the table's bytes, and replays it", async () => {
    const inner = new PostgresStore({ client: connected.client, prefix: "enc" });
    const store = encryptStore(inner, { keys: [keyA] });
    const key = IdempotencyKey.random();
    await completeSecret(store, key);
    // Every column of every row, as the database holds it.
    const rows = await connected.query("SELECT t::text AS row FROM idempotent.entries t");
    const raw = rows.map((row) => String(row["row"])).join("\n");
    expect(raw.length).toBeGreaterThan(0);
    for (const secret of [secretBody, secretHeader, "Jane", "4111", "x-customer"]) {
      expect(raw.includes(secret)).toBe(false);
      expect(raw.includes(Buffer.from(secret).toString("hex"))).toBe(false);
    }
    expect(JSON.parse(await replayedText(store, key))).toEqual({ note: secretBody });
    inner.close();
  });
});
