import type pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { EntryStateError } from "../../src/errors/entry-state-error.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { InvalidKeyError } from "../../src/errors/invalid-key-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { AlreadyCompletedError } from "../../src/stores/postgres/already-completed-error.ts";
import { PostgresStore } from "../../src/stores/postgres/postgres-store.ts";
import { withPgTransaction } from "../../src/stores/postgres/with-pg-transaction.ts";
import {
  dropChecks,
  dropSchemas,
  migrateSchema,
  sharedPool,
  uniqueSchema,
} from "./postgres-test-database.ts";

// The PostgreSQL store at its edges, on the shared server: options, corrupt rows, the outcomes
// of fenced writes that miss, the sweep's walk, deadlines and server errors. Every schema here
// is this file's own.
const schema = uniqueSchema("pgb");
const badSchema = `${schema}_bad`;
const sweepSchema = `${schema}_sw`;
let pool: pg.Pool;

const fingerprint = (seed = 1) => Fingerprint.fromBigInt(BigInt(seed));
const processing = (seed = 1) => IdempotencyEntry.new(fingerprint(seed));
const response = () =>
  new CachedResponse({
    status: 201,
    headers: [["content-type", "application/octet-stream"]],
    body: new Uint8Array([0, 1, 2, 255]),
  });
const completed = (seed = 1) => processing(seed).complete(response());
const lease = { leaseTtlMs: 60_000 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

async function claimed(store: PostgresStore, key: IdempotencyKey, seed = 1, leaseTtlMs = 60_000) {
  const result = await store.tryInsert(key, processing(seed), { leaseTtlMs });
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result.fencingToken;
}

// A failing setup fails every test (Stryker counts a file whose hooks fail before any test as
// surviving, and the setup runs code under test: migrate).
let setup: Promise<void> = Promise.resolve();
beforeAll(async () => {
  pool = sharedPool();
  setup = (async () => {
    for (const name of [schema, badSchema, sweepSchema]) await migrateSchema(pool, name);
    await dropChecks(pool, badSchema);
  })();
  await setup.catch(() => undefined);
}, 60_000);
beforeEach(async () => {
  await setup;
});
afterAll(async () => {
  await dropSchemas(pool, [schema, badSchema, sweepSchema]);
  await pool.end();
});

describe("PostgresStore options", () => {
  it("refuses a sweep batch outside 1 to 100000 and takes its ends", () => {
    for (const sweepBatch of [0, 100_001, 1.5, -1]) {
      const error = (() => {
        try {
          new PostgresStore({ client: pool, schema, sweepBatch });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({
        code: "ERR_IDEMPOTENT_INVALID_ARGUMENT",
        argument: "sweepBatch",
      });
      expect((error as Error).message).toContain("expected an integer from 1 to 100000");
    }
    for (const sweepBatch of [1, 100_000]) {
      expect(() => new PostgresStore({ client: pool, schema, sweepBatch })).not.toThrow();
    }
  });

  it("names its table and prefix, with defaults", () => {
    const store = new PostgresStore({ client: pool });
    expect(store.prefix).toBe("idempotent");
    expect(store.table.qualified).toBe('"idempotent"."entries"');
    const named = new PostgresStore({ client: pool, schema, table: "entries", prefix: "orders" });
    expect(named.prefix).toBe("orders");
    expect(named.table).toEqual({
      schema,
      table: "entries",
      qualified: `"${schema}"."entries"`,
    });
  });

  it("refuses a prefix that breaks the key rules and a bad operation timeout", () => {
    expect(() => new PostgresStore({ client: pool, prefix: "a:b" })).toThrow(InvalidKeyError);
    expect(() => new PostgresStore({ client: pool, prefix: "a:b" })).toThrow(/^prefix /);
    for (const argument of ["operationTimeoutMs", "sweepIntervalMs"] as const) {
      for (const value of [0, -1, 1.5]) {
        const error = (() => {
          try {
            new PostgresStore({ client: pool, [argument]: value });
          } catch (caught) {
            return caught;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error).toMatchObject({ argument });
      }
    }
  });

  it("its sweep timer does not keep the process alive", () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout");
    const before = timers().length;
    const store = new PostgresStore({ client: pool, schema, sweepIntervalMs: 60_000 });
    try {
      expect(timers().length).toBe(before);
    } finally {
      store.close();
    }
  });

  it("a failing timed sweep is contained (no unhandled rejection)", async () => {
    const store = new PostgresStore({
      client: pool,
      schema: `${schema}_none`,
      sweepIntervalMs: 10,
    });
    try {
      await expect(store.sweep()).rejects.toBeInstanceOf(StoreError);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      store.close();
    }
  });
});

describe("PostgresStore arguments", () => {
  it("refuses what is not a key, a token or an entry in the right state", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "args" });
    const key = IdempotencyKey.random();
    const token = FencingToken.fromJSON("5");
    const notKey = "k" as unknown as IdempotencyKey;
    const notToken = 5 as unknown as FencingToken;
    const calls: [string, () => Promise<unknown>][] = [
      ["key", () => store.tryInsert(notKey, processing(), lease)],
      ["key", () => store.complete(notKey, completed(), token)],
      [
        "key",
        () => withPgTransaction(pool, (tx) => store.completeIn(tx, notKey, completed(), token)),
      ],
      ["key", () => store.touch(notKey, token, lease)],
      ["key", () => store.remove(notKey, token)],
      ["key", () => store.get(notKey)],
      ["key", () => store.purge(notKey)],
      ["fencingToken", () => store.complete(key, completed(), notToken)],
      ["fencingToken", () => store.touch(key, notToken, lease)],
      ["fencingToken", () => store.remove(key, notToken)],
    ];
    for (const [argument, call] of calls) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ argument });
    }
    const wrongState = [
      () => store.tryInsert(key, completed() as never, lease),
      () => store.complete(key, processing() as never, token),
    ];
    for (const call of wrongState) expect(await rejection(call())).toBeInstanceOf(EntryStateError);
    expect(await store.get(key)).toBeUndefined();
  });

  it("guards the pg pool it is given against connection errors", async () => {
    const fresh = sharedPool({ max: 1 });
    try {
      expect(fresh.listenerCount("error")).toBe(0);
      new PostgresStore({ client: fresh, schema });
      expect(fresh.listenerCount("error")).toBe(1);
    } finally {
      await fresh.end();
    }
  });
});

describe("PostgresStore claims", () => {
  const xmax = async (store: PostgresStore, key: IdempotencyKey) =>
    String(
      (
        await pool.query<{ xmax: string }>(
          `SELECT xmax::text AS xmax FROM ${store.table.qualified} WHERE prefix = $1 AND key = $2`,
          [store.prefix, key.value],
        )
      ).rows[0]?.xmax,
    );

  it("with readFirst answers a replay from a plain read, without locking the row", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "rf", readFirst: true });
    const key = IdempotencyKey.random();
    const first = await store.tryInsert(key, processing(), lease);
    expect(first.kind).toBe("claimed");
    expect(await xmax(store, key)).toBe("0");
    const replay = await store.tryInsert(key, processing(), lease);
    expect(replay.kind).toBe("exists");
    if (replay.kind !== "exists") return;
    expect(replay.entry.state).toBe("processing");
    expect(replay.entry.fingerprint.equals(fingerprint())).toBe(true);
    expect(replay.expiresAt).toBeGreaterThan(Date.now());
    // Nothing wrote or locked the row.
    expect(await xmax(store, key)).toBe("0");
  });

  it("without readFirst a replay runs the claim statement, which locks the row", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "rf" });
    const key = IdempotencyKey.random();
    await claimed(store, key);
    expect(await xmax(store, key)).toBe("0");
    const replay = await store.tryInsert(key, processing(), lease);
    expect(replay.kind).toBe("exists");
    expect(await xmax(store, key)).not.toBe("0");
  });

  it("with readFirst replays a completion and claims a free key", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "rf", readFirst: true });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    expect(await store.complete(key, completed(), token)).toEqual({ kind: "applied" });
    const replay = await store.tryInsert(key, processing(), lease);
    expect(replay.kind).toBe("exists");
    if (replay.kind !== "exists" || replay.entry.state !== "completed") {
      throw new Error("expected a completed entry");
    }
    expect(replay.entry.response.status).toBe(201);
    expect([...replay.entry.response.body]).toEqual([0, 1, 2, 255]);
  });

  it("tokens of one key strictly increase across release, purge and expiry", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "tok" });
    const key = IdempotencyKey.random();
    const tokens: FencingToken[] = [];
    tokens.push(await claimed(store, key));
    expect(await store.remove(key, tokens[0] as FencingToken)).toEqual({ kind: "applied" });
    tokens.push(await claimed(store, key));
    expect(await store.purge(key)).toBe(true);
    tokens.push(await claimed(store, key, 1, 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    tokens.push(await claimed(store, key));
    for (let index = 1; index < tokens.length; index += 1) {
      expect((tokens[index] as FencingToken).isNewerThan(tokens[index - 1] as FencingToken)).toBe(
        true,
      );
    }
  });
});

describe("PostgresStore fenced writes that miss", () => {
  it("complete answers per outcome, and applied again for its own completion", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "miss" });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    const other = FencingToken.fromJSON(String(BigInt(token.toString()) + 1n));
    expect(await store.complete(key, completed(), other)).toEqual({ kind: "fencing-mismatch" });
    expect(await store.complete(key, completed(2), token)).toEqual({
      kind: "fingerprint-mismatch",
    });
    expect(await store.complete(key, completed(), token)).toEqual({ kind: "applied" });
    expect(await store.complete(key, completed(), token)).toEqual({ kind: "applied" });
    expect(await store.complete(IdempotencyKey.random(), completed(), token)).toEqual({
      kind: "key-expired",
    });
    // A row whose lease ran out: key-expired for any token, never a mismatch.
    const expired = IdempotencyKey.random();
    const old = await claimed(store, expired, 1, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const newer = FencingToken.fromJSON(String(BigInt(old.toString()) + 1n));
    expect(await store.complete(expired, completed(), newer)).toEqual({ kind: "key-expired" });
    expect(await store.complete(expired, completed(2), old)).toEqual({ kind: "key-expired" });
    expect(await store.complete(expired, completed(), old)).toEqual({ kind: "key-expired" });
  });

  it("completeIn throws per outcome inside the transaction", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "missin" });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    const inTx = (entry: ReturnType<typeof completed>, t: FencingToken) =>
      rejection(withPgTransaction(pool, (tx) => store.completeIn(tx, key, entry, t)));
    const other = FencingToken.fromJSON(String(BigInt(token.toString()) + 1n));
    const mismatch = await inTx(completed(), other);
    expect(mismatch).toBeInstanceOf(ClaimLostError);
    expect(mismatch).not.toBeInstanceOf(AlreadyCompletedError);
    expect(mismatch).toMatchObject({ outcome: "fencing-mismatch" });
    expect(await inTx(completed(2), token)).toMatchObject({ outcome: "fingerprint-mismatch" });
    await withPgTransaction(pool, (tx) => store.completeIn(tx, key, completed(), token));
    const again = await inTx(completed(), token);
    expect(again).toBeInstanceOf(AlreadyCompletedError);
    expect(again).toMatchObject({
      code: "ERR_IDEMPOTENT_CLAIM_LOST",
      outcome: "fencing-mismatch",
      alreadyCompleted: true,
    });
    expect((again as AlreadyCompletedError).response?.status).toBe(201);
  });

  it("touch and remove tell an expired claim from another's token", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "missl" });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    const other = FencingToken.fromJSON(String(BigInt(token.toString()) + 1n));
    expect(await store.touch(key, other, lease)).toEqual({ kind: "fencing-mismatch" });
    expect(await store.remove(key, other)).toEqual({ kind: "fencing-mismatch" });
    const free = IdempotencyKey.random();
    expect(await store.touch(free, token, lease)).toEqual({ kind: "key-expired" });
    expect(await store.remove(free, token)).toEqual({ kind: "key-expired" });
    expect(await store.touch(key, token, { leaseTtlMs: 1 })).toEqual({ kind: "applied" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.touch(key, token, lease)).toEqual({ kind: "key-expired" });
    expect(await store.remove(key, token)).toEqual({ kind: "key-expired" });
  });

  it("a touch sets the row's lease and expiry to its own TTL", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "ttl" });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    expect(await store.touch(key, token, { leaseTtlMs: 5000 })).toEqual({ kind: "applied" });
    const { rows } = await pool.query<{ lease_ms: number; left_ms: number }>(
      `SELECT lease_ms, extract(epoch FROM expires_at - clock_timestamp()) * 1000 AS left_ms
         FROM "${schema}"."entries" WHERE prefix = 'ttl' AND key = $1`,
      [key.value],
    );
    expect(rows[0]?.lease_ms).toBe(5000);
    expect(Number(rows[0]?.left_ms)).toBeGreaterThan(3000);
    expect(Number(rows[0]?.left_ms)).toBeLessThanOrEqual(5000);
  });

  it("purge reports whether the key was live", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "purge" });
    const key = IdempotencyKey.random();
    expect(await store.purge(key)).toBe(false);
    await claimed(store, key);
    expect(await store.purge(key)).toBe(true);
    expect(await store.purge(key)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
  });

  it("complete on a live row of another layout version is a MalformedRecordError", async () => {
    const store = new PostgresStore({ client: pool, schema: badSchema, prefix: "ver" });
    const key = IdempotencyKey.random();
    await pool.query(
      `INSERT INTO "${badSchema}"."entries" (prefix, key, state, fingerprint, token, lease_ms, expires_at, version)
       VALUES ('ver', $1, 'p', $2, 42, 60000, clock_timestamp() + interval '1 minute', 2)`,
      [key.value, Buffer.from(fingerprint().toBytes())],
    );
    const error = await rejection(store.complete(key, completed(), FencingToken.fromJSON("42")));
    expect(error).toBeInstanceOf(MalformedRecordError);
    expect(error).toMatchObject({ path: "version" });
    expect((error as Error).message).toContain(`row ${key.value} has another layout version`);
  });
});

describe("PostgresStore on corrupt rows", () => {
  const fp = () => Buffer.from(fingerprint().toBytes());
  const insert = async (key: IdempotencyKey, columns: Record<string, unknown>) => {
    const row: Record<string, unknown> = {
      prefix: "bad",
      key: key.value,
      state: "p",
      fingerprint: fp(),
      token: "7",
      lease_ms: 60_000,
      expires_at: new Date(Date.now() + 60_000),
      version: 1,
      ...columns,
    };
    const names = Object.keys(row);
    await pool.query(
      `INSERT INTO "${badSchema}"."entries" (${names.join(", ")}) VALUES (${names.map((_, i) => `$${i + 1}`).join(", ")})`,
      Object.values(row),
    );
  };
  const store = () => new PostgresStore({ client: pool, schema: badSchema, prefix: "bad" });
  const completedColumns = { state: "c", status: 200, headers: "[]", body: Buffer.from("ok") };

  it.each([
    ["another layout version", { version: 2 }, "version", "layout version 2"],
    ["a token of 17 digits", { token: "12345678901234567" }, "token", "below 2^53"],
    ["a token of 0", { token: "0" }, "token", "below 2^53"],
    ["a negative token", { token: "-5" }, "token", "below 2^53"],
    ["no fingerprint", { fingerprint: null }, "fingerprint", "expected bytes"],
    ["an endless expiry", { expires_at: "infinity" }, "expires_at", "not a time"],
    ["an unknown state", { state: "x" }, "state", "unknown state x"],
    ["a completion without a body", { ...completedColumns, body: null }, "body", "expected bytes"],
    ["a fingerprint of 15 bytes", { fingerprint: Buffer.alloc(15) }, "", "is corrupt"],
    ["headers that are not JSON", { ...completedColumns, headers: "{" }, "", "is corrupt"],
    ["a status out of range", { ...completedColumns, status: 99 }, "", "is corrupt"],
  ])("get and tryInsert refuse a row with %s", async (_, columns, path, message) => {
    const key = IdempotencyKey.random();
    await insert(key, columns);
    for (const read of [
      () => store().get(key),
      () => store().tryInsert(key, processing(), lease),
    ]) {
      const error = await rejection(read());
      expect(error).toBeInstanceOf(MalformedRecordError);
      expect(error).toMatchObject({ code: "ERR_IDEMPOTENT_MALFORMED_RECORD", path });
      expect((error as Error).message).toContain(message);
      if (path === "") expect((error as Error).cause).toBeInstanceOf(Error);
    }
  });

  it("reads tokens of 1 and 16 digits", async () => {
    for (const token of ["1", "1000000000000000"]) {
      const key = IdempotencyKey.random();
      await insert(key, { token });
      expect((await store().get(key))?.entry.state).toBe("processing");
    }
  });

  it("reads a completed row back byte for byte, and its expiry in milliseconds", async () => {
    const key = IdempotencyKey.random();
    const expires = new Date(Date.now() + 90_000);
    await insert(key, {
      ...completedColumns,
      status: 599,
      headers: '[["x-a","1"],["x-a","2"]]',
      expires_at: expires,
    });
    const stored = await store().get(key);
    if (stored?.entry.state !== "completed") throw new Error("expected a completed entry");
    expect(stored.entry.response.status).toBe(599);
    expect(stored.entry.response.headers).toEqual([
      ["x-a", "1"],
      ["x-a", "2"],
    ]);
    expect(Buffer.from(stored.entry.response.body).toString()).toBe("ok");
    expect(stored.expiresAt).toBe(expires.getTime());
  });
});

describe("PostgresStore on a client that returns every column as text", () => {
  const asText = { getTypeParser: () => (value: string) => value };

  it("decodes bytea given as '\\x' hex text", async () => {
    const textPool = sharedPool({ max: 1, types: asText });
    try {
      const store = new PostgresStore({ client: pool, schema, prefix: "text" });
      const key = IdempotencyKey.random();
      const token = await claimed(store, key);
      await store.complete(key, completed(), token);
      const reader = new PostgresStore({ client: textPool, schema, prefix: "text" });
      const stored = await reader.get(key);
      if (stored?.entry.state !== "completed") throw new Error("expected a completed entry");
      expect(stored.entry.fingerprint.equals(fingerprint())).toBe(true);
      expect([...stored.entry.response.body]).toEqual([0, 1, 2, 255]);
    } finally {
      await textPool.end();
    }
  });

  it("refuses bytea in another text form", async () => {
    const textPool = sharedPool({ max: 1, types: asText, options: "-c bytea_output=escape" });
    try {
      const store = new PostgresStore({ client: pool, schema, prefix: "text" });
      const key = IdempotencyKey.random();
      await claimed(store, key);
      const reader = new PostgresStore({ client: textPool, schema, prefix: "text" });
      const error = await rejection(reader.get(key));
      expect(error).toBeInstanceOf(MalformedRecordError);
      expect(error).toMatchObject({ path: "fingerprint" });
    } finally {
      await textPool.end();
    }
  });
});

describe("PostgresStore sweep", () => {
  const table = `"${sweepSchema}"."entries"`;
  const fill = async (keys: readonly string[], expiresSql: string) => {
    for (const key of keys) {
      await pool.query(
        `INSERT INTO ${table} (prefix, key, state, fingerprint, token, lease_ms, expires_at, version)
         VALUES ('Asw', $1, 'p', $2, 1, 1000, ${expiresSql}, 1)`,
        [key, Buffer.from(fingerprint().toBytes())],
      );
    }
  };
  const keysLeft = async () =>
    (await pool.query<{ key: string }>(`SELECT key FROM ${table} ORDER BY key`)).rows.map(
      (row) => row.key,
    );
  const clear = () => pool.query(`DELETE FROM ${table}`);
  const store = (options: { sweepBatch?: number; sweepIntervalMs?: number } = {}) =>
    new PostgresStore({ client: pool, schema: sweepSchema, ...options });

  it("refuses a grace under a minute or not an integer", async () => {
    for (const graceMs of [59_999, 60_000.5]) {
      const error = await rejection(store().sweep({ graceMs }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ argument: "graceMs" });
      expect((error as Error).message).toContain("expected an integer of at least 60000");
    }
  });

  it("walks the table in batches from where the last one stopped, then wraps", async () => {
    await clear();
    await fill(["a", "b", "c", "d", "e"], "clock_timestamp() + interval '1 hour'");
    const sweeper = store({ sweepBatch: 2 });
    expect(await sweeper.sweep()).toEqual({ deleted: 0, visited: 2, wrapped: false });
    expect(await sweeper.sweep()).toEqual({ deleted: 0, visited: 2, wrapped: false });
    expect(await sweeper.sweep()).toEqual({ deleted: 0, visited: 1, wrapped: true });
    // A batch that ends on the last row does not know it reached the end.
    expect(await sweeper.sweep({ batch: 5 })).toEqual({ deleted: 0, visited: 5, wrapped: false });
    expect(await sweeper.sweep({ batch: 5 })).toEqual({ deleted: 0, visited: 0, wrapped: true });
    expect(await store().sweep()).toEqual({ deleted: 0, visited: 5, wrapped: true });
    await clear();
    expect(await store().sweep()).toEqual({ deleted: 0, visited: 0, wrapped: true });
  });

  it("deletes rows expired longer ago than the grace, and only those", async () => {
    await clear();
    await fill(["a", "b"], "clock_timestamp() - interval '90 seconds'");
    await fill(["c"], "clock_timestamp() - interval '30 seconds'");
    expect(await store().sweep({ graceMs: 100_000 })).toEqual({
      deleted: 0,
      visited: 3,
      wrapped: true,
    });
    expect(await store().sweep()).toEqual({ deleted: 2, visited: 3, wrapped: true });
    expect(await keysLeft()).toEqual(["c"]);
  });

  it("sweeps on its own timer until closed", async () => {
    await clear();
    const sweeper = store({ sweepIntervalMs: 20 });
    try {
      await fill(["a"], "clock_timestamp() - interval '2 minutes'");
      const until = Date.now() + 5000;
      while ((await keysLeft()).length > 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await keysLeft()).toEqual([]);
      // And again: a finished sweep lets the next tick sweep.
      await fill(["a2"], "clock_timestamp() - interval '2 minutes'");
      while ((await keysLeft()).length > 0 && Date.now() < until + 5000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await keysLeft()).toEqual([]);
    } finally {
      sweeper.close();
    }
    // A sweep that started before close() may still be queued for a connection.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fill(["b"], "clock_timestamp() - interval '2 minutes'");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await keysLeft()).toEqual(["b"]);
    const disposed = store({ sweepIntervalMs: 20 });
    await disposed[Symbol.asyncDispose]();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await keysLeft()).toEqual(["b"]);
  });
});

describe("PostgresStore deadlines and server errors", () => {
  it("a statement past operationTimeoutMs is a retryable timeout, ambiguous for writes", async () => {
    const busy = sharedPool({ max: 1 });
    const holder = await busy.connect();
    try {
      const store = new PostgresStore({
        client: busy,
        schema,
        prefix: "dl",
        operationTimeoutMs: 50,
      });
      const key = IdempotencyKey.random();
      const token = FencingToken.fromJSON("5");
      const calls: [string, () => Promise<unknown>, boolean][] = [
        ["tryInsert", () => store.tryInsert(key, processing(), lease), true],
        ["complete", () => store.complete(key, completed(), token), true],
        ["completeIn", () => store.completeIn(busy, key, completed(), token), true],
        ["touch", () => store.touch(key, token, lease), true],
        ["remove", () => store.remove(key, token), true],
        ["purge", () => store.purge(key), true],
        ["sweep", () => store.sweep(), true],
        ["get", () => store.get(key), false],
      ];
      for (const [operation, call, ambiguous] of calls) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(StoreError);
        expect(error).toMatchObject({
          kind: "timeout",
          operation,
          retryable: true,
          ambiguous,
          message: `${operation}: no reply within 50 ms`,
        });
      }
    } finally {
      holder.release();
      await busy.end();
    }
  });

  it("a missing table is a schema error, not retryable and never ambiguous", async () => {
    const store = new PostgresStore({ client: pool, schema: `${schema}_none` });
    const error = await rejection(store.tryInsert(IdempotencyKey.random(), processing(), lease));
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({
      kind: "schema",
      operation: "tryInsert",
      retryable: false,
      ambiguous: false,
    });
    expect((error as Error).message).toContain("42P01: ");
  });

  it("a lock timeout on the server is a timeout the write never applied", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "lock" });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    const impatient = sharedPool({ max: 1, options: "-c lock_timeout=50" });
    const blocker = await pool.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query(
        `SELECT 1 FROM "${schema}"."entries" WHERE prefix = 'lock' AND key = $1 FOR UPDATE`,
        [key.value],
      );
      const error = await rejection(
        new PostgresStore({ client: impatient, schema, prefix: "lock" }).touch(key, token, lease),
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({
        kind: "timeout",
        operation: "touch",
        retryable: true,
        ambiguous: false,
      });
      expect((error as Error).message).toContain("55P03: ");
    } finally {
      await blocker.query("ROLLBACK");
      blocker.release();
      await impatient.end();
    }
  });

  it("a terminated backend mid-write is a connection error that may have applied", async () => {
    const store = new PostgresStore({ client: pool, schema, prefix: "term" });
    const key = IdempotencyKey.random();
    const token = await claimed(store, key);
    const victim = sharedPool({ max: 1 });
    const blocker = await pool.connect();
    try {
      const pid = (await victim.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]
        ?.pid;
      await blocker.query("BEGIN");
      await blocker.query(
        `SELECT 1 FROM "${schema}"."entries" WHERE prefix = 'term' AND key = $1 FOR UPDATE`,
        [key.value],
      );
      const touch = rejection(
        new PostgresStore({ client: victim, schema, prefix: "term" }).touch(key, token, lease),
      );
      // Wait until the touch waits on the row lock, then end its backend.
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const { rows } = await pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
          [pid],
        );
        if (rows.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await pool.query("SELECT pg_terminate_backend($1)", [pid]);
      const error = await touch;
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({
        kind: "connection",
        operation: "touch",
        retryable: true,
        ambiguous: true,
      });
      expect((error as Error).message).toContain("57P01: ");
    } finally {
      await blocker.query("ROLLBACK");
      blocker.release();
      await victim.end();
    }
  });

  it("a refused connection is a connection error that never ran", async () => {
    const nowhere = sharedPool({ max: 1, connectionString: "postgres://postgres@127.0.0.1:1/x" });
    try {
      const store = new PostgresStore({ client: nowhere, schema });
      const error = await rejection(
        store.touch(IdempotencyKey.random(), FencingToken.fromJSON("5")),
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ kind: "connection", retryable: true, ambiguous: false });
    } finally {
      await nowhere.end();
    }
  });
});
