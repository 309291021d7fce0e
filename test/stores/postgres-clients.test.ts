import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import type { ClaimGuard } from "../../src/execution/claim-guard.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { checkServerConfig } from "../../src/stores/postgres/check-server-config.ts";
import { executeInTransaction } from "../../src/stores/postgres/execute-in-transaction.ts";
import { guardClient, guardPgPool } from "../../src/stores/postgres/guard-pg-pool.ts";
import { createTableSql, migrate } from "../../src/stores/postgres/migrate.ts";
import { PostgresStore } from "../../src/stores/postgres/postgres-store.ts";
import { toSqlExecutor, type PostgresClient } from "../../src/stores/postgres/sql-executor.ts";
import { tableName } from "../../src/stores/postgres/table-name.ts";
import {
  withPgTransaction,
  type PgPoolClient,
} from "../../src/stores/postgres/with-pg-transaction.ts";
import { startPostgres } from "../servers/postgres-server.ts";
import {
  dropSchemas,
  sharedPool,
  sharedPostgresUrl,
  uniqueSchema,
} from "./postgres-test-database.ts";

// The PostgreSQL module around the store, on the shared server: client adapters, table names,
// migration, the pg transaction runner and pool guard, checkServerConfig and
// executeInTransaction. Every schema here is this file's own.
const schema = uniqueSchema("pgc");
const schemas = [schema, `${schema}_u`, `${schema}_c`, `${schema}_n`, `${schema}_x`];
let pool: pg.Pool;

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(promise).then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A failing setup fails every test (Stryker counts a file whose hooks fail before any test as
// surviving, and the setup runs code under test: migrate, tableName, toSqlExecutor).
let setup: Promise<void> = Promise.resolve();
beforeAll(async () => {
  pool = sharedPool();
  setup = (async () => {
    await migrate(pool, { schema });
    await pool.query(
      `CREATE TABLE "${schema}".effects (key text PRIMARY KEY, token text NOT NULL)`,
    );
  })();
  await setup.catch(() => undefined);
}, 60_000);
beforeEach(async () => {
  await setup;
});
afterAll(async () => {
  await dropSchemas(pool, schemas);
  await pool.end();
});

describe("tableName", () => {
  it("defaults to idempotent.entries, quoted and frozen", () => {
    const name = tableName();
    expect(name).toEqual({
      schema: "idempotent",
      table: "entries",
      qualified: '"idempotent"."entries"',
    });
    expect(Object.isFrozen(name)).toBe(true);
    expect(tableName({ schema: "_a9", table: "t_1" }).qualified).toBe('"_a9"."t_1"');
    expect(tableName({ schema: "a".repeat(63) }).schema).toBe("a".repeat(63));
  });

  it("refuses names that are not plain lower-case identifiers, as schema and as table", () => {
    for (const name of ["", "A", "1a", "a-b", "a b", 'a"', "a".repeat(64), "é", "a\n"]) {
      for (const argument of ["schema", "table"] as const) {
        const error = thrown(() => tableName({ [argument]: name }));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error).toMatchObject({ argument });
        expect((error as Error).message).toContain("expected a lower-case SQL identifier");
      }
    }
  });

  it("refuses a name that is not a string", () => {
    expect(thrown(() => tableName({ table: 5 as unknown as string }))).toMatchObject({
      argument: "table",
    });
  });
});

describe("toSqlExecutor", () => {
  it("refuses what is no client", () => {
    for (const client of [42, null, undefined, "pool", {}, { query: "no" }]) {
      const error = thrown(() => toSqlExecutor(client as unknown as PostgresClient));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ argument: "client" });
    }
  });

  it("takes rows, { rows } or nothing from a query function, with its own copy of the values", async () => {
    const values = Object.freeze([1, "a"]);
    const seen: unknown[][] = [];
    const answers: unknown[] = [[{ a: 1 }], { rows: [{ b: 2 }] }, undefined, { rows: "x" }];
    const executor = toSqlExecutor({
      query: async (_text: string, given: readonly unknown[]) => {
        seen.push(given as unknown[]);
        return answers.shift() as never;
      },
    });
    expect(await executor.query("q", values)).toEqual([{ a: 1 }]);
    expect(await executor.query("q", values)).toEqual([{ b: 2 }]);
    expect(await executor.query("q", values)).toEqual([]);
    expect(await executor.query("q", values)).toEqual([]);
    expect(seen[0]).toEqual([1, "a"]);
    expect(seen[0]).not.toBe(values);
    expect(Object.isFrozen(seen[0])).toBe(false);
  });

  it("takes a function with a query method", async () => {
    const client = Object.assign(() => undefined, { query: async () => ({ rows: [{ c: 3 }] }) });
    expect(await toSqlExecutor(client).query("q", [])).toEqual([{ c: 3 }]);
  });

  it("runs parameterized statements on pg, postgres.js and Kysely alike", async () => {
    const sql = postgres(sharedPostgresUrl, { max: 1, onnotice: () => undefined });
    const kyselyPool = sharedPool({ max: 1 });
    const db = new Kysely<Record<string, never>>({
      dialect: new PostgresDialect({ pool: kyselyPool }),
    });
    try {
      const prepared = async () =>
        (
          await sql.unsafe("SELECT count(*)::int AS n FROM pg_prepared_statements", [], {
            prepare: false,
          })
        )[0]?.["n"] as number;
      const before = await prepared();
      for (const client of [pool, sql, db] as PostgresClient[]) {
        const executor = toSqlExecutor(client);
        expect(await executor.query("SELECT $1::int AS one, $2::text AS two", [1, "b"])).toEqual([
          { one: 1, two: "b" },
        ]);
        expect(await executor.query("SELECT 1 WHERE false", [])).toEqual([]);
      }
      // postgres.js statements are never prepared (they must work behind PgBouncer).
      expect(await prepared()).toBe(before);
      await sql.unsafe("SELECT $1::int AS one", [1], { prepare: true });
      expect(await prepared()).toBe(before + 1);
    } finally {
      await sql.end({ timeout: 5 });
      await db.destroy();
    }
  });
});

describe("guardPgPool and guardClient", () => {
  it("refuses what is not an EventEmitter", () => {
    for (const value of [null, undefined, 42, "pool", {}, { on: () => undefined }]) {
      expect(guardPgPool(value)).toBe(false);
    }
    expect(guardPgPool({ listenerCount: () => 0 })).toBe(false);
  });

  it("adds one error listener to a pool that has none, once", async () => {
    const fresh = sharedPool({ max: 1 });
    try {
      expect(fresh.listenerCount("error")).toBe(0);
      expect(guardPgPool(fresh)).toBe(true);
      expect(guardPgPool(fresh)).toBe(false);
      expect(fresh.listenerCount("error")).toBe(1);
      expect(() => fresh.emit("error", new Error("idle client lost"))).not.toThrow();
    } finally {
      await fresh.end();
    }
    const listened = sharedPool({ max: 1 });
    try {
      const own = () => undefined;
      listened.on("error", own);
      expect(guardPgPool(listened)).toBe(true);
      expect(listened.listeners("error")).toEqual([own]);
    } finally {
      await listened.end();
    }
  });

  it("guards every client the pool connects, so an error on a checked-out client is caught", async () => {
    const guarded = sharedPool({ max: 1 });
    const bare = sharedPool({ max: 1 });
    guardPgPool(guarded);
    const client = await guarded.connect();
    const bareClient = await bare.connect();
    try {
      expect(() => client.emit("error", new Error("connection lost"))).not.toThrow();
      expect(() => bareClient.emit("error", new Error("connection lost"))).toThrow(
        "connection lost",
      );
      const before = bareClient.listenerCount("error");
      guardClient(bareClient);
      guardClient(bareClient);
      expect(bareClient.listenerCount("error")).toBe(before + 1);
      expect(() => bareClient.emit("error", new Error("connection lost"))).not.toThrow();
      guardClient(null);
      guardClient({});
    } finally {
      client.release(true);
      bareClient.release(true);
      await guarded.end();
      await bare.end();
    }
  });
});

describe("withPgTransaction", () => {
  const effects = `"${schema}".effects`;
  const rows = async (key: string) =>
    (await pool.query(`SELECT token FROM ${effects} WHERE key = $1`, [key])).rows.length;

  it("commits work and returns its result, at the isolation asked for", async () => {
    const one = sharedPool({ max: 1 });
    try {
      const key = IdempotencyKey.random().value;
      const result = await withPgTransaction(one, async (tx) => {
        await tx.query(`INSERT INTO ${effects} (key, token) VALUES ($1, '1')`, [key]);
        return (await tx.query("SHOW transaction_isolation")).rows[0];
      });
      expect(result).toEqual({ transaction_isolation: "read committed" });
      expect(await rows(key)).toBe(1);
      for (const isolation of ["repeatable read", "serializable", "read committed"] as const) {
        const shown = await withPgTransaction(
          one,
          async (tx) => (await tx.query("SHOW transaction_isolation")).rows[0],
          { isolation },
        );
        expect(shown).toEqual({ transaction_isolation: isolation });
      }
      expect(one.listenerCount("error")).toBe(1);
      expect(one.totalCount).toBe(1);
    } finally {
      await one.end();
    }
  });

  it("rolls back and rethrows when work throws, and keeps the connection", async () => {
    const one = sharedPool({ max: 1 });
    try {
      const key = IdempotencyKey.random().value;
      const failure = Object.assign(new Error("business rule"), { code: "23505" });
      const error = await rejection(
        withPgTransaction(one, async (tx) => {
          await tx.query(`INSERT INTO ${effects} (key, token) VALUES ($1, '1')`, [key]);
          throw failure;
        }),
      );
      expect(error).toBe(failure);
      expect(await rows(key)).toBe(0);
      expect(one.totalCount).toBe(1);
      expect(one.idleCount).toBe(1);
    } finally {
      await one.end();
    }
  });

  it.each([
    ["code 08006", { code: "08006" }, "x"],
    ["code 57P01", { code: "57P01" }, "x"],
    ["Connection terminated", {}, "Connection terminated unexpectedly"],
    ["ECONNRESET", {}, "read ECONNRESET"],
    ["not queryable", {}, "Client is not queryable"],
    ["EPIPE", {}, "write EPIPE"],
    ["connection TERMINATED", {}, "connection TERMINATED"],
  ])("destroys the connection after a connection error: %s", async (_, fields, message) => {
    const one = sharedPool({ max: 1 });
    try {
      const failure = Object.assign(new Error(message), fields);
      expect(
        await rejection(
          withPgTransaction(one, async () => {
            throw failure;
          }),
        ),
      ).toBe(failure);
      expect(one.totalCount).toBe(0);
    } finally {
      await one.end();
    }
  });

  it.each([
    ["code x08", { code: "x08" }, "x"],
    ["numeric code", { code: 8 }, "x"],
    ["no code", {}, "plain"],
  ])("keeps the connection after another error: %s", async (_, fields, message) => {
    const one = sharedPool({ max: 1 });
    try {
      const failure = Object.assign(new Error(message), fields);
      expect(
        await rejection(
          withPgTransaction(one, async () => {
            throw failure;
          }),
        ),
      ).toBe(failure);
      expect(
        await rejection(withPgTransaction(one, () => Promise.reject(new TypeError("text")))),
      ).toBeInstanceOf(TypeError);
      expect(one.totalCount).toBe(1);
    } finally {
      await one.end();
    }
  });

  it("destroys the connection when COMMIT fails, and rethrows its error", async () => {
    const one = sharedPool({ max: 1 });
    const table = `"${schema}".deferred`;
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${table} (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)`,
    );
    try {
      const error = await rejection(
        withPgTransaction(one, async (tx) => {
          await tx.query(`INSERT INTO ${table} (id) VALUES (1), (1)`);
          return "done";
        }),
      );
      expect(error).toMatchObject({ code: "23505" });
      expect(one.totalCount).toBe(0);
      expect((await pool.query(`SELECT * FROM ${table}`)).rows).toEqual([]);
    } finally {
      await one.end();
    }
  });

  it("destroys a connection whose backend died, without crashing the process", async () => {
    const one = sharedPool({ max: 1 });
    try {
      const error = await rejection(
        withPgTransaction(one, async (tx) => {
          await tx.query("SELECT pg_terminate_backend(pg_backend_pid())");
        }),
      );
      expect(error).toBeInstanceOf(Error);
      await delay(50);
      expect(one.totalCount).toBe(0);
      expect(await withPgTransaction(one, async () => "again")).toBe("again");
    } finally {
      await one.end();
    }
  });
});

describe("migrate and createTableSql", () => {
  it("creates the table once and leaves it alone after", async () => {
    const name = `${schema}_n`;
    await migrate(pool, { schema: name, table: "keys" });
    await migrate(pool, { schema: name, table: "keys" });
    const { rows } = await pool.query<{ comment: string }>(
      `SELECT obj_description('"${name}"."keys"'::regclass, 'pg_class') AS comment`,
    );
    expect(rows[0]?.comment).toBe("idempotent store, schema 1");
    expect(createTableSql()).toContain('CREATE TABLE IF NOT EXISTS "idempotent"."entries"');
    expect(() => createTableSql({ schema: "Bad" })).toThrow(InvalidArgumentError);
  });

  it.each([
    ["state", "'x'"],
    ["token", "0"],
    ["lease_ms", "0"],
    ["fingerprint", "'\\x00'::bytea"],
    ["status", "600"],
  ])("the table refuses a row with a bad %s", async (column, value) => {
    const values: Record<string, string> = {
      prefix: "'p'",
      key: `'${IdempotencyKey.random().value}'`,
      state: "'p'",
      fingerprint: "'\\x000102030405060708090a0b0c0d0e0f'::bytea",
      token: "1",
      lease_ms: "1000",
      expires_at: "clock_timestamp()",
    };
    values[column] = value;
    const error = await rejection(
      pool.query(
        `INSERT INTO "${schema}"."entries" (${Object.keys(values).join(", ")}) VALUES (${Object.values(values).join(", ")})`,
      ),
    );
    expect(error).toMatchObject({ code: "23514" });
  });
});

describe("checkServerConfig", () => {
  it("finds nothing on a safe server with the store's table", async () => {
    expect(await checkServerConfig(pool, { schema })).toEqual([]);
  });

  it("reports a missing table, and nothing after it", async () => {
    expect(await checkServerConfig(pool, { schema: `${schema}_none` })).toEqual([
      {
        setting: "table",
        value: "missing",
        severity: "error",
        message: `"${schema}_none"."entries" does not exist in this database: run migrate() or createTableSql()`,
      },
    ]);
  });

  it("reports an UNLOGGED table", async () => {
    const name = `${schema}_u`;
    await pool.query(
      createTableSql({ schema: name }).replace("CREATE TABLE", "CREATE UNLOGGED TABLE"),
    );
    expect(await checkServerConfig(pool, { schema: name })).toEqual([
      {
        setting: "table",
        value: "unlogged",
        severity: "error",
        message: `"${name}"."entries" is UNLOGGED: crash recovery empties it and every completed key runs again`,
      },
    ]);
  });

  it("reports a table of another layout, by comment or by columns", async () => {
    const name = `${schema}_c`;
    await migrate(pool, { schema: name, table: "entries" });
    await migrate(pool, { schema: name, table: "other" });
    await migrate(pool, { schema: name, table: "blank" });
    await pool.query(`COMMENT ON TABLE "${name}"."entries" IS 'idempotent store, schema 2'`);
    await pool.query(`COMMENT ON TABLE "${name}"."blank" IS NULL`);
    await pool.query(`ALTER TABLE "${name}"."other" DROP COLUMN headers`);
    const [comment] = await checkServerConfig(pool, { schema: name });
    expect(comment).toMatchObject({
      setting: "table",
      value: "idempotent store, schema 2",
      severity: "error",
    });
    expect(comment?.message).toMatch(
      new RegExp(`^"${name}"\\."entries" does not have layout 1 \\(columns: prefix text,key text,`),
    );
    expect(await checkServerConfig(pool, { schema: name, table: "blank" })).toMatchObject([
      { setting: "table", value: "no schema comment", severity: "error" },
    ]);
    const [columns] = await checkServerConfig(pool, { schema: name, table: "other" });
    expect(columns).toMatchObject({ value: "idempotent store, schema 1", severity: "error" });
    expect(columns?.message).toContain("body bytea,version smallint)");
    expect(columns?.message).not.toContain("headers");
  });

  it("reports the session's asynchronous commit and isolation", async () => {
    const risky = sharedPool({
      max: 1,
      options: "-c synchronous_commit=off -c default_transaction_isolation=serializable",
    });
    const local = sharedPool({ max: 1, options: "-c synchronous_commit=local" });
    try {
      expect(await checkServerConfig(risky, { schema })).toEqual([
        {
          setting: "synchronous_commit",
          value: "off",
          severity: "error",
          message:
            "asynchronous commit: a crash loses the last acknowledged claims and completions, so their keys run again",
        },
        {
          setting: "default_transaction_isolation",
          value: "serializable",
          severity: "warning",
          message:
            "completeIn needs READ COMMITTED; under this level a lease extension during the transaction fails it with a serialization error",
        },
      ]);
      // Without synchronous standbys, local commit is as durable as on.
      expect(await checkServerConfig(local, { schema })).toEqual([]);
    } finally {
      await risky.end();
      await local.end();
    }
  });

  it("reports fsync, full_page_writes and local commit with standbys on a server set so", async () => {
    const server = await startPostgres({
      settings: {
        fsync: "off",
        full_page_writes: "off",
        synchronous_commit: "local",
        synchronous_standby_names: "standby",
      },
    });
    const own = new pg.Pool({ connectionString: server.url, max: 1 });
    // A commit that waits for the standbys is no finding (it only reads here, so nothing waits).
    const remote = new pg.Pool({
      connectionString: server.url,
      max: 1,
      options: "-c synchronous_commit=remote_write",
    });
    try {
      await migrate(own);
      expect(await checkServerConfig(remote)).toMatchObject([
        { setting: "fsync" },
        { setting: "full_page_writes" },
      ]);
      expect(await checkServerConfig(own)).toEqual([
        {
          setting: "fsync",
          value: "off",
          severity: "error",
          message:
            "a crash can lose or corrupt committed claims and completions; keys then run again",
        },
        {
          setting: "synchronous_commit",
          value: "local",
          severity: "warning",
          message:
            "commits do not wait for the synchronous standbys: a failover can lose acknowledged completions",
        },
        {
          setting: "full_page_writes",
          value: "off",
          severity: "warning",
          message: "a torn page after a crash can corrupt rows",
        },
      ]);
    } finally {
      await own.end();
      await remote.end();
      await server.stop();
    }
  }, 120_000);

  it("gives up after timeoutMs, and maps server errors", async () => {
    expect(await rejection(checkServerConfig(pool, { timeoutMs: 0 }))).toMatchObject({
      argument: "timeoutMs",
    });
    expect(await rejection(checkServerConfig(pool, { schema: "X" }))).toBeInstanceOf(
      InvalidArgumentError,
    );
    const busy = sharedPool({ max: 1 });
    const holder = await busy.connect();
    try {
      const error = await rejection(checkServerConfig(busy, { timeoutMs: 50 }));
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({
        kind: "timeout",
        operation: "checkServerConfig",
        ambiguous: false,
        message: "checkServerConfig: no reply within 50 ms",
      });
    } finally {
      holder.release();
      await busy.end();
    }
    const nowhere = sharedPool({ max: 1, connectionString: "postgres://postgres@127.0.0.1:1/x" });
    try {
      expect(await rejection(checkServerConfig(nowhere))).toMatchObject({
        kind: "connection",
        operation: "checkServerConfig",
      });
    } finally {
      await nowhere.end();
    }
  });
});

describe("executeInTransaction", () => {
  const effects = `"${schema}".effects`;
  const request = { operation: "POST /orders", body: '{"total":42}' };
  let store: PostgresStore;
  let idempotency: Idempotency;
  beforeAll(() => {
    store = new PostgresStore({ client: pool, schema, prefix: "eit", retentionTtlMs: 7000 });
    idempotency = new Idempotency({ store, leaseTtlMs: 5000 });
  });
  const runner = (work: (tx: PgPoolClient) => Promise<CachedResponse>) =>
    withPgTransaction(pool, work);
  const insertEffect = async (tx: PgPoolClient, key: IdempotencyKey, token: string) => {
    await tx.query(`INSERT INTO ${effects} (key, token) VALUES ($1, $2)`, [key.value, token]);
  };
  const effectRows = async (key: IdempotencyKey) =>
    (
      await pool.query<{ token: string }>(`SELECT token FROM ${effects} WHERE key = $1`, [
        key.value,
      ])
    ).rows;
  const row = async (key: IdempotencyKey) =>
    (
      await pool.query<{ state: string; token: string; left_ms: number }>(
        `SELECT state, token::text AS token,
                extract(epoch FROM expires_at - clock_timestamp()) * 1000 AS left_ms
           FROM "${schema}"."entries" WHERE prefix = 'eit' AND key = $1`,
        [key.value],
      )
    ).rows[0];

  it("needs an Idempotency on a PostgresStore", async () => {
    const memory = new Idempotency({ store: new MemoryStore() });
    let ran = false;
    const error = await rejection(
      executeInTransaction(memory, IdempotencyKey.random(), request, runner, () => {
        ran = true;
        return "x";
      }),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ argument: "idempotency" });
    expect((error as Error).message).toContain("expected an Idempotency on a PostgresStore");
    expect(ran).toBe(false);
  });

  it("commits the business write with the completion, then replays without a transaction", async () => {
    const key = IdempotencyKey.random();
    let transactions = 0;
    let seen: ClaimGuard | undefined;
    const counting = (work: (tx: PgPoolClient) => Promise<CachedResponse>) => {
      transactions += 1;
      return runner(work);
    };
    const outcome = await executeInTransaction(
      idempotency,
      key,
      request,
      counting,
      async ({ tx, signal, guard }) => {
        seen = guard;
        expect(signal.aborted).toBe(false);
        expect(signal).toBe(guard.signal);
        await insertEffect(tx, key, guard.fencingToken.toString());
        return CachedResponse.from({ id: 1 }, { status: 201 });
      },
    );
    expect(outcome.kind).toBe("executed");
    if (outcome.kind !== "executed") return;
    expect(outcome.response.status).toBe(201);
    // The lease keeper was stopped before the completion took the row lock.
    expect(seen?.settled).toBe(true);
    expect(seen?.signal.aborted).toBe(false);
    const stored = await row(key);
    expect(stored?.state).toBe("c");
    expect(await effectRows(key)).toEqual([{ token: stored?.token }]);
    // The store's retention (7 s), not the Idempotency's default.
    expect(Number(stored?.left_ms)).toBeGreaterThan(4000);
    expect(Number(stored?.left_ms)).toBeLessThanOrEqual(7000);
    const replay = await executeInTransaction(idempotency, key, request, counting, () => {
      throw new Error("must not run");
    });
    expect(replay.kind).toBe("replayed");
    if (replay.kind === "replayed") expect(replay.response.status).toBe(201);
    expect(transactions).toBe(1);
  });

  it("keeps the response for retentionTtlMs when given", async () => {
    const key = IdempotencyKey.random();
    const outcome = await executeInTransaction(idempotency, key, request, runner, () => "ok", {
      retentionTtlMs: 60_000,
    });
    expect(outcome.kind).toBe("executed");
    expect(Number((await row(key))?.left_ms)).toBeGreaterThan(50_000);
  });

  it("rolls back and frees the key when the side effect throws", async () => {
    const key = IdempotencyKey.random();
    const failure = new Error("card declined");
    let seen: ClaimGuard | undefined;
    const error = await rejection(
      executeInTransaction(idempotency, key, request, runner, async ({ tx, guard }) => {
        seen = guard;
        await insertEffect(tx, key, guard.fencingToken.toString());
        throw failure;
      }),
    );
    expect(error).toBe(failure);
    expect(seen?.settled).toBe(true);
    expect(await effectRows(key)).toEqual([]);
    expect((await row(key))?.state).toBe("t");
    const retry = await executeInTransaction(idempotency, key, request, runner, () => "second");
    expect(retry.kind).toBe("executed");
  });

  it("keeps a completion that committed although the runner then rejected", async () => {
    const key = IdempotencyKey.random();
    const lost = new Error("COMMIT reply lost");
    const error = await rejection(
      executeInTransaction(
        idempotency,
        key,
        request,
        (work) =>
          withPgTransaction(pool, work).then(() => {
            throw lost;
          }),
        () => "committed",
      ),
    );
    expect(error).toBe(lost);
    expect((await row(key))?.state).toBe("c");
    expect((await store.get(key))?.entry.state).toBe("completed");
  });

  it("waits up to waitMs for another caller's claim", async () => {
    const key = IdempotencyKey.random();
    const other = await idempotency.claim(key, request);
    if (other.kind !== "claimed") throw new Error("expected a claim");
    const unwaited = await executeInTransaction(idempotency, key, request, runner, () => "x");
    expect(unwaited.kind).toBe("in-flight");
    const waited = executeInTransaction(idempotency, key, request, runner, () => "x", {
      waitMs: 5000,
    });
    await delay(100);
    await other.guard.complete(CachedResponse.from("first"));
    const outcome = await waited;
    expect(outcome.kind).toBe("replayed");
  });
});
