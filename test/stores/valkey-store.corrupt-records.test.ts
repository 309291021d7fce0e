// Records written behind the store's back, in both layouts (version 1: raw HSET, as 0.1.0 wrote
// them; version 2: raw SET of the string), that pass the scripts' first checks (right version,
// known state, an expiry in the future), so the token checks and the decoder decide.
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
import {
  encodeV2,
  tombstoneOf,
  v2Tail,
  writeV1,
  writeV2,
  type V1Fields,
  type V2Parts,
} from "./valkey-records.ts";

const fingerprint = Fingerprint.fromHex("56".repeat(16));
const entry = () => IdempotencyEntry.new(fingerprint);
const future = () => Date.now() + 60_000;
/** A token ahead of the server clock, so the next claim's token shows whether it was kept. */
const ahead = 8_300_000_000_000_000n;
const aheadText = ahead.toString().padStart(16, "0");

/** A record in one of the two layouts: version-1 fields or version-2 bytes. */
type Written = { readonly v1: V1Fields } | { readonly v2: Buffer };

const v1 = (fields: V1Fields): Written => ({ v1: fields });
const v2 = (parts: V2Parts): Written => ({ v2: encodeV2(parts) });

/** A live completed record, its token given as stored text (`undefined`: none at all). */
const completed = {
  v1: (token: string | undefined, fields: V1Fields = {}): Written =>
    v1({
      v: "1",
      s: "c",
      fp: fingerprint.hex,
      lease: "1000",
      st: "200",
      h: "[]",
      b: "replayed",
      exp: String(future()),
      tok: token,
      ...fields,
    }),
  v2: (token: string | undefined, parts: V2Parts = {}): Written =>
    // No token at all: the record ends after its state.
    token === undefined
      ? { v2: Buffer.from("2c") }
      : v2({
          state: "c",
          token,
          since: future() - 1000,
          ttl: 1000,
          fingerprint: fingerprint.hex,
          tail: v2Tail("200", "[]", "replayed"),
          ...parts,
        }),
};

const processing = {
  v1: (token: string | undefined): Written =>
    v1({ v: "1", s: "p", fp: fingerprint.hex, lease: "1000", exp: String(future()), tok: token }),
  v2: (token: string | undefined): Written =>
    token === undefined
      ? { v2: Buffer.from("2p") }
      : v2({ token, since: future() - 1000, ttl: 1000, fingerprint: fingerprint.hex }),
};

const tombstone = {
  v1: (token: string | undefined): Written => v1({ v: "1", s: "t", tok: token }),
  v2: (token: string | undefined): Written => ({ v2: Buffer.from(`2t${token ?? ""}`) }),
};

/** Tokens a record must not be trusted with, as each layout stores them. */
const badTokens = {
  v1: [
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
  ],
  v2: [
    ["missing", undefined],
    ["letters", "abcdefghijklmnop"],
    ["a fraction", "000000000012.500"],
    ["an exponent", "00000000001e1500"],
    ["negative", "-000000000000012"],
    ["hexadecimal", "0x00000000000010"],
    ["space-padded", "              12"],
    ["beyond 2^53", "9007199254740993"],
    ["beyond 2^53, of 16 nines", "9999999999999999"],
  ],
} as const satisfies Record<string, readonly (readonly [string, string | undefined])[]>;

const layouts = ["v1", "v2"] as const;

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

  async function write(record: Written): Promise<void> {
    if ("v1" in record) await writeV1(raw, recordKey, record.v1);
    else await writeV2(raw, recordKey, record.v2);
  }

  /** The record's serialized value, to tell that nothing changed it. */
  const snapshot = () => raw.dumpBuffer(recordKey);

  /** The record after a purge or a release: absent, or a tombstone and nothing else. */
  async function leftOver(): Promise<string | undefined> {
    if ((await raw.exists(recordKey)) === 0) return undefined;
    expect(await raw.pttl(recordKey)).toBeGreaterThan(0);
    return (await raw.get(recordKey)) ?? undefined;
  }

  async function nextToken(): Promise<bigint> {
    const claim = await store.tryInsert(key, entry());
    if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${claim.kind}`);
    return claim.fencingToken.value;
  }

  describe.each(layouts)("of layout %s", (layout) => {
    const valid = layout === "v1" ? "12" : "0000000000000012";
    const tokens: readonly (readonly [string, string | undefined])[] = badTokens[layout];

    it("replays the same record with a valid token: the cases below differ only in it", async () => {
      await write(completed[layout](valid));
      const stored = await store.get(key);
      expect(stored?.entry.state).toBe("completed");
      const claim = await store.tryInsert(key, entry());
      expect(claim.kind).toBe("exists");
    });

    it.each(tokens)(
      "refuses a completed record whose token is %s, never replaying it",
      async (_, token) => {
        await write(completed[layout](token));
        const before = await snapshot();
        expect(await caught(store.get(key))).toBeInstanceOf(MalformedRecordError);
        expect(await caught(store.tryInsert(key, entry()))).toBeInstanceOf(MalformedRecordError);
        const response = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("again"));
        expect(
          await caught(
            store.complete(key, response, FencingToken.from(12), { retentionTtlMs: 60_000 }),
          ),
        ).toBeInstanceOf(MalformedRecordError);
        // Nothing was changed by the refused calls.
        expect(await snapshot()).toEqual(before);
      },
    );

    it.each(tokens)(
      "refuses a processing record or a tombstone whose token is %s",
      async (_, token) => {
        await write(processing[layout](token));
        expect(await caught(store.get(key))).toBeInstanceOf(MalformedRecordError);
        expect(
          await caught(store.touch(key, FencingToken.from(12), { leaseTtlMs: 1000 })),
        ).toBeInstanceOf(MalformedRecordError);
        expect(await caught(store.remove(key, FencingToken.from(12)))).toBeInstanceOf(
          MalformedRecordError,
        );
        // A tombstone exists for its token; without a valid one the next token could go back.
        await write(tombstone[layout](token));
        expect(await caught(store.tryInsert(key, entry()))).toBeInstanceOf(MalformedRecordError);
      },
    );

    it.each(tokens)(
      "purges a live record whose token is %s completely, leaving no tombstone",
      async (_, token) => {
        await write(completed[layout](token));
        expect(await store.purge(key)).toBe(true);
        expect(await leftOver()).toBeUndefined();
        expect(await nextToken()).toBeLessThan(ahead);
      },
    );

    it("purges a record of another version without reading its token", async () => {
      await write(
        layout === "v1"
          ? completed.v1(ahead.toString(), { v: "9" })
          : completed.v2(aheadText, { version: "9" }),
      );
      expect(await store.purge(key)).toBe(true);
      expect(await leftOver()).toBeUndefined();
      expect(await nextToken()).toBeLessThan(ahead);
    });
  });

  it("refuses a claim whose token is beyond 2^53 to a caller holding that very token", async () => {
    const token = "9999999999999999";
    await write(processing.v2(token));
    const held = FencingToken.from(BigInt(token));
    const response = IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("late"));
    for (const operation of [
      store.complete(key, response, held, { retentionTtlMs: 60_000 }),
      store.touch(key, held, { leaseTtlMs: 60_000 }),
      store.remove(key, held),
    ]) {
      expect(await caught(operation)).toBeInstanceOf(MalformedRecordError);
    }
  });

  const keepsToken: readonly [string, Written][] = [
    ["a completed record without expiry", completed.v1(ahead.toString(), { exp: "" })],
    ["a completed record with a bad status", completed.v1(ahead.toString(), { st: "20x" })],
    ["a record without state", v1({ v: "1", tok: ahead.toString(), exp: String(future()) })],
    [
      "a processing record with a lease no timer holds",
      v1({
        v: "1",
        s: "p",
        fp: fingerprint.hex,
        tok: String(ahead),
        lease: "1e300",
        exp: String(future()),
      }),
    ],
    [
      "a processing record with a lease beyond any expiry",
      v1({
        v: "1",
        s: "p",
        fp: fingerprint.hex,
        tok: String(ahead),
        lease: "inf",
        exp: String(future()),
      }),
    ],
    [
      "a version-2 completed record without expiry",
      completed.v2(aheadText, { since: "x".repeat(16) }),
    ],
    [
      "a version-2 completed record with a bad status",
      completed.v2(aheadText, { tail: v2Tail("20x", "[]", "") }),
    ],
    ["a version-2 record of an unknown state", completed.v2(aheadText, { state: "x" })],
    ["a version-2 record cut after its token", { v2: Buffer.from(`2p${aheadText}1234`) }],
    [
      "a version-2 processing record with a lease no timer holds",
      v2({ token: aheadText, ttl: "1e300     " }),
    ],
    [
      "a version-2 processing record with a lease beyond any expiry",
      v2({ token: aheadText, ttl: "inf       " }),
    ],
  ];

  it.each(keepsToken)(
    "purges %s completely, keeping its token in a tombstone",
    async (_, record) => {
      await write(record);
      expect(await store.purge(key)).toBe(true);
      expect(await leftOver()).toBe(tombstoneOf(ahead));
      expect(await raw.pttl(recordKey)).toBeLessThanOrEqual(tokenRetentionMs);
      expect(await nextToken()).toBe(ahead + 1n);
    },
  );

  it.each([
    [
      "version 1",
      v1({
        v: "1",
        s: "p",
        fp: fingerprint.hex,
        tok: String(ahead),
        lease: "1e300",
        exp: String(future()),
      }),
    ],
  ] as const)(
    "releases a claim whose lease is corrupt without failing half-way (%s)",
    async (name, record) => {
      await write(record);
      expect((await store.remove(key, FencingToken.from(ahead))).kind, name).toBe("applied");
      expect(await leftOver()).toBe(tombstoneOf(ahead));
      expect(await nextToken()).toBe(ahead + 1n);
    },
  );

  it("never reports a purge as failed after changing the record", async () => {
    // Every shape a corrupt record can take: purge either succeeds or leaves it as it was.
    const shapes: Written[] = [
      ...badTokens.v1.map(([, token]) => completed.v1(token)),
      ...badTokens.v2.map(([, token]) => completed.v2(token)),
      ...keepsToken.map(([, record]) => record),
      v1({ v: "1", s: "t", tok: "abc" }),
      v1({ v: "1", s: "c", tok: "5", lease: "-1", exp: "x" }),
      v1({ junk: "1" }),
      { v2: Buffer.from("2t") },
      { v2: Buffer.from("") },
      { v2: Buffer.from("garbage") },
    ];
    for (const record of shapes) {
      await write(record);
      const before = await snapshot();
      const error = await caught(store.purge(key));
      if (error instanceof StoreError) expect(await snapshot()).toEqual(before);
      expect(error, JSON.stringify(record)).toBeUndefined();
    }
  });

  /** Version-2 records the scripts accept (live, valid token) that only the decoder refuses. */
  const decoderCases: readonly [string, Buffer][] = [
    ["a bad fingerprint", encodeV2({ fingerprint: "zz".repeat(16) })],
    ["a processing record with bytes after its header", encodeV2({ tail: "x" })],
    ["a completed record cut after its header", encodeV2({ state: "c" })],
    ["a status with a letter", encodeV2({ state: "c", tail: v2Tail("2x0", "[]", "") })],
    ["a status out of range", encodeV2({ state: "c", tail: v2Tail("700", "[]", "") })],
    ["headers that are not JSON", encodeV2({ state: "c", tail: v2Tail("200", "{", "") })],
    ["headers that are not pairs", encodeV2({ state: "c", tail: v2Tail("200", '{"a":1}', "") })],
    ["a headers length with a letter", encodeV2({ state: "c", tail: "20000000000x2[]" })],
    ["a headers length beyond the record", encodeV2({ state: "c", tail: "2000000000099[]" })],
  ];

  /**
   * Version-2 records whose time or TTL is not all digits: the scripts refuse them (Lua's
   * `tonumber` would read them, and a time read as past would let a claim overwrite the record).
   */
  const timeCases: readonly [string, Buffer][] = [
    ["a since in exponent notation", encodeV2({ since: "9.9e15          " })],
    ["a since with a dot", encodeV2({ since: "1.96150000000000" })],
    ["a negative since", encodeV2({ since: "-000000000000001" })],
    ["a ttl with spaces", encodeV2({ ttl: " 60000000 " })],
    ["a since in hexadecimal", encodeV2({ since: "0xFFFFFFFFFFFFFF" })],
    ["a ttl with a sign", encodeV2({ ttl: "+000060000" })],
    ["a ttl in exponent notation", encodeV2({ ttl: "1e300     " })],
  ];

  it.each(timeCases)(
    "refuses a version-2 record with %s, never overwriting or replaying it",
    async (_, record) => {
      await write({ v2: record });
      const before = await snapshot();
      for (const error of [
        await caught(store.get(key)),
        await caught(store.tryInsert(key, entry())),
        await caught(store.remove(key, FencingToken.from(12))),
      ]) {
        expect(error).toBeInstanceOf(MalformedRecordError);
      }
      expect(await snapshot()).toEqual(before);
      // Its token is valid: purge keeps it.
      expect(await store.purge(key)).toBe(true);
      expect(await leftOver()).toBe(tombstoneOf(12n));
    },
  );

  it.each(decoderCases)(
    "refuses a version-2 record with %s, never replaying it",
    async (_, record) => {
      await write({ v2: record });
      for (const error of [
        await caught(store.get(key)),
        await caught(store.tryInsert(key, entry())),
      ]) {
        expect(error).toBeInstanceOf(MalformedRecordError);
        // The decoder's answer, not the scripts' (which name no field and give no cause).
        const { path, cause } = error as MalformedRecordError;
        expect(path !== "" || cause !== undefined, String(error)).toBe(true);
      }
      // The record is live and its token valid: purge keeps the token.
      expect(await store.purge(key)).toBe(true);
      expect(await leftOver()).toBe(tombstoneOf(12n));
    },
  );
});
