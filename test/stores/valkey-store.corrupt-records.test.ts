// Records written behind the store's back (raw HSET) that pass the scripts' first checks (right
// version, known state, an expiry in the future), so the token checks and the decoder decide.
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { connect, type ConnectedClient } from "../servers/clients.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { tokenRetentionMs } from "../../src/stores/valkey/scripts.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";

const fingerprint = Fingerprint.fromHex("56".repeat(16));
const entry = () => IdempotencyEntry.new(fingerprint);
const future = () => String(Date.now() + 60_000);
/** A token ahead of the server clock, so the next claim's token shows whether it was kept. */
const ahead = 8_300_000_000_000_000n;

const completed = (fields: Record<string, string> = {}) => ({
  v: "1",
  s: "c",
  fp: fingerprint.hex,
  lease: "1000",
  st: "200",
  h: "[]",
  b: "replayed",
  exp: future(),
  ...fields,
});

/** Tokens a record must not be trusted with: each case, with `undefined` for none at all. */
const badTokens: readonly [string, string | undefined][] = [
  ["missing", undefined],
  ["empty", ""],
  ["letters", "abc"],
  ["a fraction", "12.5"],
  ["an exponent", "1e15"],
  ["negative", "-12"],
  ["hexadecimal", "0x10"],
  ["padded", " 12"],
  ["a leading zero", "012"],
  ["beyond 2^53", "9007199254740993"],
];

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("ValkeyStore with corrupt records", () => {
  let server: ServerProcess;
  let raw: Redis;
  let connected: ConnectedClient;
  let store: ValkeyStore;
  let key: IdempotencyKey;
  let recordKey: string;

  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    raw = new Redis(server.port, "127.0.0.1");
    connected = await connect("ioredis", server.port);
    store = new ValkeyStore({ client: connected.client, prefix: "corrupt" });
  });
  afterAll(async () => {
    raw.disconnect();
    await connected.close();
    await server.stop();
  });
  beforeEach(() => {
    key = IdempotencyKey.random();
    recordKey = store.recordKey(key);
  });

  async function write(fields: Record<string, string | undefined>): Promise<void> {
    await raw.del(recordKey);
    const defined = Object.entries(fields).filter(
      (field): field is [string, string] => field[1] !== undefined,
    );
    await raw.hset(recordKey, Object.fromEntries(defined));
    await raw.pexpire(recordKey, 120_000);
  }

  it("replays the same record with a valid token: the cases below differ only in it", async () => {
    await write(completed({ tok: "12" }));
    const stored = await store.get(key);
    expect(stored?.entry.state).toBe("completed");
    const claim = await store.tryInsert(key, entry());
    expect(claim.kind).toBe("exists");
  });

  it.each(badTokens)(
    "refuses a completed record whose token is %s, never replaying it",
    async (_, token) => {
      await write(completed({ ...(token === undefined ? {} : { tok: token }) }));
      expect(await caught(store.get(key))).toBeInstanceOf(MalformedRecordError);
      expect(await caught(store.tryInsert(key, entry()))).toBeInstanceOf(MalformedRecordError);
      const response = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("again"));
      expect(
        await caught(
          store.complete(key, response, FencingToken.from(12), { retentionTtlMs: 60_000 }),
        ),
      ).toBeInstanceOf(MalformedRecordError);
      // Nothing was changed by the refused calls.
      expect(await raw.hget(recordKey, "b")).toBe("replayed");
    },
  );

  it.each(badTokens)(
    "refuses a processing record or a tombstone whose token is %s",
    async (_, token) => {
      const tok = token === undefined ? {} : { tok: token };
      await write({ v: "1", s: "p", fp: fingerprint.hex, lease: "1000", exp: future(), ...tok });
      expect(await caught(store.get(key))).toBeInstanceOf(MalformedRecordError);
      expect(
        await caught(store.touch(key, FencingToken.from(12), { leaseTtlMs: 1000 })),
      ).toBeInstanceOf(MalformedRecordError);
      expect(await caught(store.remove(key, FencingToken.from(12)))).toBeInstanceOf(
        MalformedRecordError,
      );
      // A tombstone exists for its token; without a valid one the next token could go back.
      await write({ v: "1", s: "t", ...tok });
      expect(await caught(store.tryInsert(key, entry()))).toBeInstanceOf(MalformedRecordError);
    },
  );

  /** The record after a purge or a release: absent, or a tombstone and nothing else. */
  async function leftOver(): Promise<Record<string, string> | undefined> {
    if ((await raw.exists(recordKey)) === 0) return undefined;
    expect(await raw.pttl(recordKey)).toBeGreaterThan(0);
    return raw.hgetall(recordKey);
  }

  async function nextToken(): Promise<bigint> {
    const claim = await store.tryInsert(key, entry());
    if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${claim.kind}`);
    return claim.fencingToken.value;
  }

  it.each(badTokens)(
    "purges a live record whose token is %s completely, leaving no tombstone",
    async (_, token) => {
      await write(completed({ ...(token === undefined ? {} : { tok: token }) }));
      expect(await store.purge(key)).toBe(true);
      expect(await leftOver()).toBeUndefined();
      expect(await nextToken()).toBeLessThan(ahead);
    },
  );

  const keepsToken: readonly [string, Record<string, string>][] = [
    ["a completed record without expiry", completed({ tok: String(ahead), exp: "" })],
    ["a completed record with a bad status", completed({ tok: String(ahead), st: "20x" })],
    ["a record without state", { v: "1", tok: String(ahead), exp: future() }],
    [
      "a processing record with a lease no timer holds",
      { v: "1", s: "p", fp: fingerprint.hex, tok: String(ahead), lease: "1e300", exp: future() },
    ],
    [
      "a processing record with a lease beyond any expiry",
      { v: "1", s: "p", fp: fingerprint.hex, tok: String(ahead), lease: "inf", exp: future() },
    ],
  ];

  it.each(keepsToken)(
    "purges %s completely, keeping its token in a tombstone",
    async (_, fields) => {
      await write(fields);
      expect(await store.purge(key)).toBe(true);
      expect(await leftOver()).toEqual({ v: "1", s: "t", tok: String(ahead) });
      expect(await raw.pttl(recordKey)).toBeLessThanOrEqual(tokenRetentionMs);
      expect(await nextToken()).toBe(ahead + 1n);
    },
  );

  it("releases a claim whose lease field is corrupt without failing half-way", async () => {
    await write({
      v: "1",
      s: "p",
      fp: fingerprint.hex,
      tok: String(ahead),
      lease: "1e300",
      exp: future(),
    });
    expect((await store.remove(key, FencingToken.from(ahead))).kind).toBe("applied");
    expect(await leftOver()).toEqual({ v: "1", s: "t", tok: String(ahead) });
    expect(await nextToken()).toBe(ahead + 1n);
  });

  it("purges a record of another version without reading its token", async () => {
    await write(completed({ v: "9", tok: String(ahead) }));
    expect(await store.purge(key)).toBe(true);
    expect(await leftOver()).toBeUndefined();
    expect(await nextToken()).toBeLessThan(ahead);
  });

  it("never reports a purge as failed after changing the record", async () => {
    // Every shape a corrupt hash can take: purge either succeeds or leaves the record as it was.
    const shapes: Record<string, string>[] = [
      ...badTokens.map(([, token]) => completed(token === undefined ? {} : { tok: token })),
      ...keepsToken.map(([, fields]) => fields),
      { v: "1", s: "t", tok: "abc" },
      { v: "1", s: "c", tok: "5", lease: "-1", exp: "x" },
      { junk: "1" },
    ];
    for (const fields of shapes) {
      await write(fields);
      const error = await caught(store.purge(key));
      if (error instanceof StoreError) {
        expect(await raw.hgetall(recordKey), JSON.stringify(fields)).toEqual(fields);
      }
      expect(error, JSON.stringify(fields)).toBeUndefined();
    }
  });
});
