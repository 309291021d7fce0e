// What a caller sees of ValkeyStore at the edges: the exact error (class, path or argument,
// message, cause) for each kind of bad record and option, the expiry it reports, the token
// limits, WAIT after writes, and what it sends, or not, when EVALSHA fails.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import type { ValkeyConnection } from "../../src/stores/valkey/valkey-connection.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { encodeV2, tombstoneOf, v2Tail, writeV1, writeV2 } from "./valkey-records.ts";

const fingerprint = Fingerprint.fromHex("9a".repeat(16));
const entry = () => IdempotencyEntry.new(fingerprint);
const maxToken = BigInt(Number.MAX_SAFE_INTEGER);

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** The parts of a MalformedRecordError a caller can read, or a note that it is none. */
function malformed(error: unknown): { path: string; message: string; cause: string } | string {
  if (!(error instanceof MalformedRecordError))
    return `not a MalformedRecordError: ${String(error)}`;
  expect(error.code).toBe("ERR_IDEMPOTENT_MALFORMED_RECORD");
  const cause = error.cause === undefined ? "" : (error.cause as Error).constructor.name;
  return { path: error.path, message: error.message, cause };
}

function expectStoreError(
  error: unknown,
  expected: { kind: string; operation: string; message?: string; ambiguous: boolean },
): void {
  expect(error).toBeInstanceOf(StoreError);
  const storeError = error as StoreError;
  expect(storeError.kind).toBe(expected.kind);
  expect(storeError.operation).toBe(expected.operation);
  expect(storeError.ambiguous).toBe(expected.ambiguous);
  expect(storeError.retryable).toBe(expected.kind !== "unknown");
  if (expected.message !== undefined) expect(storeError.message).toBe(expected.message);
}

describe("ValkeyStore at its boundaries", () => {
  let server: ServerProcess;
  let raw: Redis;
  let store: ValkeyStore;

  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    raw = new Redis(server.port, "127.0.0.1");
    store = new ValkeyStore({ client: raw, prefix: "edge" });
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  describe("version-2 records the decoder refuses", () => {
    const cases: [string, Buffer, { path: string; message: string; cause: string }][] = [
      [
        "a processing record with bytes after its header",
        encodeV2({ tail: "x" }),
        { path: "s", message: "s: unknown state or length", cause: "" },
      ],
      [
        "a completed record cut after its header",
        encodeV2({ state: "c" }),
        { path: "headersLength", message: "headersLength: expected decimal digits", cause: "" },
      ],
      ...["2x0", "2/0", "2:0", "/00", ":00"].map(
        (status): [string, Buffer, { path: string; message: string; cause: string }] => [
          `status ${status}`,
          encodeV2({ state: "c", tail: v2Tail(status, "[]", "") }),
          { path: "status", message: "status: expected decimal digits", cause: "" },
        ],
      ),
      ...["000000000/2", "000000000:2", "/000000002", ":000000002"].map(
        (length): [string, Buffer, { path: string; message: string; cause: string }] => [
          `headers length ${length}`,
          encodeV2({ state: "c", tail: `200${length}[]` }),
          { path: "headersLength", message: "headersLength: expected decimal digits", cause: "" },
        ],
      ),
      [
        "headers one byte beyond the record",
        encodeV2({ state: "c", tail: "2000000000003[]" }),
        { path: "h", message: "h: headers cut short", cause: "" },
      ],
      [
        "headers that are not JSON",
        encodeV2({ state: "c", tail: v2Tail("200", "{", "") }),
        { path: "", message: "record: record edge:{k} is corrupt", cause: "SyntaxError" },
      ],
      [
        "a bad fingerprint",
        encodeV2({ fingerprint: "zz".repeat(16) }),
        { path: "fingerprint", message: "fingerprint: expected 32 hexadecimal digits", cause: "" },
      ],
    ];

    it.each(cases)("answers %s with its field", async (_, record, expected) => {
      const key = IdempotencyKey.parse("k");
      await writeV2(raw, store.recordKey(key), record);
      expect(malformed(await caught(store.get(key)))).toEqual(expected);
      expect(malformed(await caught(store.tryInsert(key, entry())))).toEqual(expected);
    });

    it("replays a completed record whose headers end where the record ends", async () => {
      const key = IdempotencyKey.parse("k");
      await writeV2(
        raw,
        store.recordKey(key),
        encodeV2({ state: "c", tail: v2Tail("201", '[["a","b"]]', "") }),
      );
      const stored = await store.get(key);
      expect(stored?.entry.state).toBe("completed");
      if (stored?.entry.state !== "completed") return;
      expect(stored.entry.response.status).toBe(201);
      expect(stored.entry.response.headers).toEqual([["a", "b"]]);
      expect(stored.entry.response.body.byteLength).toBe(0);
    });
  });

  describe("codes of the scripts", () => {
    const key = IdempotencyKey.parse("code");
    const token = FencingToken.from(12);
    const operations = () => [
      store.get(key),
      store.tryInsert(key, entry()),
      store.touch(key, token),
      store.remove(key, token),
      store.complete(key, entry().complete(CachedResponse.from("x")), token),
    ];

    it("answers an unknown layout version with path v", async () => {
      await writeV2(raw, store.recordKey(key), { version: "3" });
      for (const operation of operations()) {
        expect(malformed(await caught(operation))).toEqual({
          path: "v",
          message: "v: record edge:{code} has an unknown layout version",
          cause: "",
        });
      }
    });

    it("answers a corrupt record with the record's key", async () => {
      await writeV2(raw, store.recordKey(key), { state: "x" });
      for (const operation of operations()) {
        expect(malformed(await caught(operation))).toEqual({
          path: "",
          message: "record: record edge:{code} is corrupt",
          cause: "",
        });
      }
    });

    it("answers a claim after the last token below 2^53 with path tok", async () => {
      await writeV2(raw, store.recordKey(key), Buffer.from(tombstoneOf(maxToken)));
      expect(malformed(await caught(store.tryInsert(key, entry())))).toEqual({
        path: "tok",
        message: "tok: record edge:{code} has a token no token below 2^53 can follow",
        cause: "",
      });
    });

    it("pads a short token to the 16 digits records hold", async () => {
      await writeV2(raw, store.recordKey(key), { token: 12n, since: Date.now() });
      expect((await store.touch(key, FencingToken.from(12))).kind).toBe("applied");
    });

    it("sends every token as the 16 digits the record holds, on both sides of 10^8", async () => {
      for (const token of [0, 99_999_999, 100_000_000, 100_000_001, 1_764_633_600_123_456]) {
        await writeV2(raw, store.recordKey(key), { token: BigInt(token), since: Date.now() });
        expect((await store.touch(key, FencingToken.from(token))).kind, String(token)).toBe(
          "applied",
        );
        expect((await store.touch(key, FencingToken.from(token + 1))).kind, String(token)).toBe(
          "fencing-mismatch",
        );
      }
    });

    it("reads a record holding the token 2^53 - 1", async () => {
      await writeV2(raw, store.recordKey(key), { token: maxToken, since: Date.now() });
      expect((await store.get(key))?.entry.state).toBe("processing");
    });

    it("refuses a record holding a 16-digit token beyond 2^53 to a caller holding it", async () => {
      const beyond = 9_999_999_999_999_999n;
      await writeV2(raw, store.recordKey(key), { token: beyond, since: Date.now() });
      expect(malformed(await caught(store.touch(key, FencingToken.from(beyond))))).toEqual({
        path: "",
        message: "record: record edge:{code} is corrupt",
        cause: "",
      });
    });

    it("takes the token 2^53 - 1 as it is, and refuses anything above as no record's", async () => {
      await writeV2(raw, store.recordKey(key), { token: maxToken, since: Date.now() });
      expect((await store.touch(key, FencingToken.from(maxToken))).kind).toBe("applied");
      // A token beyond 2^53 against a tombstone without a token: the record is corrupt, not
      // free (the token sent is one no record can hold, not an empty one).
      await writeV2(raw, store.recordKey(key), Buffer.from("2t"));
      expect(malformed(await caught(store.touch(key, FencingToken.from(maxToken + 1n))))).toEqual({
        path: "",
        message: "record: record edge:{code} is corrupt",
        cause: "",
      });
    });
  });

  it("reports the expiry of a version-2 record to the millisecond, rounding down", async () => {
    const key = IdempotencyKey.parse("expiry");
    const sinceMs = Date.now();
    const since = `${sinceMs}999`;
    await writeV2(raw, store.recordKey(key), { since, ttl: 3_600_000 });
    expect((await store.get(key))?.expiresAt).toBe(sinceMs + 3_600_000);
    const exists = await store.tryInsert(key, entry());
    expect(exists.kind === "exists" && exists.expiresAt).toBe(sinceMs + 3_600_000);
  });

  describe("version-1 records the decoder refuses", () => {
    const exp = () => String(Date.now() + 3_600_000);
    const completed = () => ({
      v: "1",
      s: "c",
      fp: fingerprint.hex,
      tok: "12",
      st: "200",
      h: "[]",
      b: "x",
      exp: exp(),
    });
    const cases: [string, () => Record<string, string | undefined>, object][] = [
      [
        "no status",
        () => ({ ...completed(), st: undefined }),
        { path: "st", message: "st: missing", cause: "" },
      ],
      [
        "a status that is no integer",
        () => ({ ...completed(), st: "20x" }),
        { path: "st", message: "st: expected an integer", cause: "" },
      ],
      [
        "an expiry beyond 2^53",
        () => ({ ...completed(), exp: "1e16" }),
        { path: "expiresAt", message: "expiresAt: expected an integer", cause: "" },
      ],
      [
        "no body",
        () => ({ ...completed(), b: undefined }),
        { path: "b", message: "b: missing body", cause: "" },
      ],
      [
        "no headers",
        () => ({ ...completed(), h: undefined }),
        { path: "", message: "record: record edge:{v1} is corrupt", cause: "SyntaxError" },
      ],
    ];

    it.each(cases)("answers %s with its field", async (_, fields, expected) => {
      const key = IdempotencyKey.parse("v1");
      await writeV1(raw, store.recordKey(key), fields());
      expect(malformed(await caught(store.get(key)))).toEqual(expected);
      expect(malformed(await caught(store.tryInsert(key, entry())))).toEqual(expected);
    });

    it("reports a version-1 record's expiry as stored", async () => {
      const key = IdempotencyKey.parse("v1");
      const expiresAt = Date.now() + 3_600_000;
      await writeV1(raw, store.recordKey(key), { ...completed(), exp: String(expiresAt) });
      expect((await store.get(key))?.expiresAt).toBe(expiresAt);
    });
  });

  describe("options", () => {
    function refused(make: () => unknown): { argument: string; message: string } | string {
      try {
        make();
        return "accepted";
      } catch (error) {
        if (!(error instanceof InvalidArgumentError)) return String(error);
        return { argument: error.argument, message: error.message };
      }
    }

    it("stores under the prefix idempotent by default", () => {
      expect(new ValkeyStore({ client: raw }).recordKey(IdempotencyKey.parse("a"))).toBe(
        "idempotent:{a}",
      );
    });

    it("names the prefix in the error about it", () => {
      expect(() => new ValkeyStore({ client: raw, prefix: "a:b" })).toThrow(/^prefix /);
    });

    it("names the option it refuses", () => {
      expect(refused(() => new ValkeyStore({ client: raw, prefix: "a{b" }))).toEqual({
        argument: "prefix",
        message: "prefix: must not contain { or }, the hash tag's braces",
      });
      for (const replicas of [0, -1, 1.5]) {
        expect(
          refused(
            () => new ValkeyStore({ client: raw, waitForReplicas: { replicas, timeoutMs: 10 } }),
          ),
        ).toEqual({
          argument: "waitForReplicas.replicas",
          message: "waitForReplicas.replicas: expected a positive integer",
        });
      }
      expect(
        refused(
          () => new ValkeyStore({ client: raw, waitForReplicas: { replicas: 1, timeoutMs: 0 } }),
        ),
      ).toMatchObject({ argument: "waitForReplicas.timeoutMs" });
      expect(refused(() => new ValkeyStore({ client: raw, operationTimeoutMs: 0 }))).toMatchObject({
        argument: "operationTimeoutMs",
      });
      const cluster: ValkeyConnection = {
        cluster: true,
        evalsha: () => Promise.resolve(0),
        eval: () => Promise.resolve(0),
        command: () => Promise.resolve(0),
      };
      expect(
        refused(
          () =>
            new ValkeyStore({ client: cluster, waitForReplicas: { replicas: 1, timeoutMs: 10 } }),
        ),
      ).toEqual({
        argument: "waitForReplicas",
        message:
          "waitForReplicas: WAIT cannot be routed through a cluster client; use one client per primary",
      });
      expect(refused(() => new ValkeyStore({ client: cluster }))).toBe("accepted");
    });
  });

  describe("WAIT after the writes that matter", () => {
    it("waits after a claim and an applied completion, not after anything else", async () => {
      // No replica listens: every WAIT comes back with 0 acknowledgements.
      const lonely = new ValkeyStore({
        client: raw,
        prefix: "edge",
        waitForReplicas: { replicas: 1, timeoutMs: 30 },
      });
      const key = IdempotencyKey.random();
      expectStoreError(await caught(lonely.tryInsert(key, entry())), {
        kind: "replication",
        operation: "tryInsert",
        message: "tryInsert: 0 of 1 replicas acknowledged within 30 ms",
        ambiguous: true,
      });
      // The claim was made; the token is the record's.
      const stored = await raw.getBuffer(store.recordKey(key));
      const token = FencingToken.from(BigInt(stored?.toString("latin1", 2, 18) ?? "0"));
      expect((await lonely.touch(key, token)).kind).toBe("applied");
      const completed = entry().complete(CachedResponse.from("done"));
      expect((await lonely.complete(key, completed, FencingToken.from(1))).kind).toBe(
        "fencing-mismatch",
      );
      expectStoreError(await caught(lonely.complete(key, completed, token)), {
        kind: "replication",
        operation: "complete",
        message: "complete: 0 of 1 replicas acknowledged within 30 ms",
        ambiguous: true,
      });
      expect((await store.get(key))?.entry.state).toBe("completed");
      expect(await lonely.purge(key)).toBe(true);
    });
  });

  it("names each operation in its timeout, ambiguous for writes only", async () => {
    const other = new Redis(server.port, "127.0.0.1");
    try {
      await other.ping();
      const hasty = new ValkeyStore({ client: other, prefix: "edge", operationTimeoutMs: 100 });
      const key = IdempotencyKey.random();
      const token = FencingToken.from(12);
      await raw.call("CLIENT", "PAUSE", "700", "ALL");
      const operations: [string, Promise<unknown>, boolean][] = [
        ["get", hasty.get(key), false],
        ["purge", hasty.purge(key), true],
        ["complete", hasty.complete(key, entry().complete(CachedResponse.from("x")), token), true],
        ["touch", hasty.touch(key, token), true],
        ["remove", hasty.remove(key, token), true],
      ];
      for (const [operation, promise, ambiguous] of operations) {
        expectStoreError(await caught(promise), {
          kind: "timeout",
          operation,
          message: `${operation}: no reply within 100 ms`,
          ambiguous,
        });
      }
    } finally {
      other.disconnect();
    }
  });

  describe("EVALSHA failures", () => {
    it("sends no EVAL after an EVALSHA the server refused for another reason than NOSCRIPT", async () => {
      await raw.call("ACL", "SETUSER", "no-evalsha", "on", ">pw", "~*", "+@all", "-evalsha");
      const limited = new Redis({
        port: server.port,
        host: "127.0.0.1",
        username: "no-evalsha",
        password: "pw",
      });
      try {
        const key = IdempotencyKey.random();
        const error = await caught(new ValkeyStore({ client: limited }).tryInsert(key, entry()));
        expectStoreError(error, { kind: "unknown", operation: "tryInsert", ambiguous: true });
        expect((error as StoreError).message).toMatch(/^tryInsert: NOPERM .*evalsha/);
        expect(await raw.exists(`idempotent:{${key.value}}`)).toBe(0);
      } finally {
        limited.disconnect();
      }
    });

    it("sends no EVAL once the deadline passed while EVALSHA waited for NOSCRIPT", async () => {
      const other = new Redis(server.port, "127.0.0.1");
      try {
        await other.ping();
        const hasty = new ValkeyStore({ client: other, operationTimeoutMs: 150 });
        await raw.script("FLUSH");
        // Scripts that may write wait while clients are paused for writes.
        await raw.call("CLIENT", "PAUSE", "600", "WRITE");
        const key = IdempotencyKey.random();
        expectStoreError(await caught(hasty.tryInsert(key, entry())), {
          kind: "timeout",
          operation: "tryInsert",
          message: "tryInsert: no reply within 150 ms",
          ambiguous: true,
        });
        // After the pause EVALSHA answers NOSCRIPT; an EVAL sent then would claim the key.
        await new Promise((resolve) => setTimeout(resolve, 900));
        expect(await other.ping()).toBe("PONG");
        expect(await raw.exists(hasty.recordKey(key))).toBe(0);
      } finally {
        other.disconnect();
      }
    });
  });
});
