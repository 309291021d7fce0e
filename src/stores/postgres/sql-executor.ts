import { InvalidArgumentError } from "../../errors/invalid-argument-error.ts";

/**
 * One result row, by column name.
 *
 * @example
 * ```ts
 * const row: SqlRow = { token: "1760000000000000" };
 * ```
 */
export type SqlRow = Readonly<Record<string, unknown>>;

/**
 * The whole surface the store needs from a client: one parameterized statement (`$1`, `$2`, …)
 * in, its rows out. Write one for a client without an adapter (TypeORM's `manager.query`,
 * MikroORM's `execute`, …).
 *
 * @example
 * ```ts
 * const executor: SqlExecutor = {
 *   query: async (text, values) => await dataSource.query(text, [...values]),
 * };
 * ```
 */
export interface SqlExecutor {
  /** Runs one statement and returns its rows. */
  query(text: string, values: readonly unknown[]): Promise<readonly SqlRow[]>;
}

/**
 * What node-postgres (`pg`) offers: a `Pool`, a `Client`, or a checked-out `PoolClient`.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * const pool: PgQueryable = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export interface PgQueryable {
  query(text: string, values: unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
}

/**
 * What postgres.js offers: the `sql` function, or the `sql` of a `begin` callback.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * const sql: PostgresJsSql = postgres(process.env.DATABASE_URL!);
 * ```
 */
export interface PostgresJsSql {
  unsafe(
    text: string,
    values?: unknown[],
    options?: { prepare?: boolean },
  ): PromiseLike<readonly unknown[]>;
}

/**
 * What Kysely offers: a `Kysely` instance or a `Transaction` (on its Postgres dialect).
 *
 * @example
 * ```ts
 * import { Kysely, PostgresDialect } from "kysely";
 * const db: KyselyExecutor = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
 * ```
 */
export interface KyselyExecutor {
  executeQuery(query: {
    readonly sql: string;
    readonly parameters: readonly unknown[];
    readonly query: {
      readonly kind: "RawNode";
      readonly sqlFragments: readonly string[];
      readonly parameters: readonly never[];
    };
    readonly queryId: { readonly queryId: string };
  }): Promise<{ readonly rows: readonly unknown[] }>;
}

/**
 * Every client the store takes: a `pg` pool or client, a postgres.js `sql`, a Kysely instance
 * or transaction, or your own {@link SqlExecutor}.
 *
 * @example
 * ```ts
 * const client: PostgresClient = pool; // or sql, or db, or { query: … }
 * ```
 */
export type PostgresClient = PgQueryable | PostgresJsSql | KyselyExecutor | SqlExecutor;

let queryIds = 0;

function rowsOf(result: unknown): readonly SqlRow[] {
  if (Array.isArray(result)) return result as SqlRow[];
  const rows = (result as { rows?: unknown } | undefined)?.rows;
  if (Array.isArray(rows)) return rows as SqlRow[];
  return [];
}

function hasFunction<K extends string>(
  value: unknown,
  name: K,
): value is Record<K, (...args: unknown[]) => unknown> {
  return typeof value === "object" || typeof value === "function"
    ? typeof (value as Record<string, unknown> | null)?.[name] === "function"
    : false;
}

/**
 * Adapts any {@link PostgresClient} to a {@link SqlExecutor}. Kysely is recognized by
 * `executeQuery`, postgres.js by `unsafe`, everything else is called as `query(text, values)`
 * and may answer `{ rows }` (pg) or the rows themselves. Statements are never named or
 * prepared, so they work behind PgBouncer in transaction mode.
 *
 * @example
 * ```ts
 * const executor = toSqlExecutor(pool);
 * const rows = await executor.query("SELECT $1::int AS one", [1]);
 * ```
 * @throws {@link idempotent!InvalidArgumentError} for a value that is none of these.
 */
export function toSqlExecutor(client: PostgresClient): SqlExecutor {
  if (hasFunction(client, "executeQuery")) {
    const db = client as KyselyExecutor;
    return {
      query: async (text, values) =>
        rowsOf(
          await db.executeQuery({
            sql: text,
            parameters: values,
            query: Object.freeze({ kind: "RawNode", sqlFragments: [text], parameters: [] }),
            queryId: { queryId: `idempotent-${(queryIds += 1)}` },
          }),
        ),
    };
  }
  if (hasFunction(client, "unsafe")) {
    const sql = client as PostgresJsSql;
    return {
      query: async (text, values) =>
        rowsOf(await sql.unsafe(text, [...values], { prepare: false })),
    };
  }
  if (hasFunction(client, "query")) {
    const queryable = client as PgQueryable;
    return {
      query: async (text, values) => rowsOf(await queryable.query(text, [...values])),
    };
  }
  throw new InvalidArgumentError(
    "client",
    "expected a pg Pool or Client, a postgres.js sql, a Kysely instance or a SqlExecutor",
  );
}
