// The client families the PostgreSQL store supports, connected to a test server, each with its
// transaction runner: pg (node-postgres), postgres.js and Kysely (on pg).
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import postgres from "postgres";
import {
  guardPgPool,
  toSqlExecutor,
  withPgTransaction,
  type PostgresClient,
  type SqlRow,
} from "../../src/stores/postgres/index.ts";

export const postgresFamilies = ["pg", "postgres.js", "kysely"] as const;
export type PostgresFamily = (typeof postgresFamilies)[number];
export type Isolation = "read committed" | "repeatable read";

export interface ConnectedPostgres {
  readonly family: PostgresFamily;
  /** What the store is given. */
  readonly client: PostgresClient;
  /** Runs `work` in a transaction on this client; `tx` is what `completeIn` is given. */
  transaction<T>(work: (tx: PostgresClient) => Promise<T>, isolation?: Isolation): Promise<T>;
  /** One autocommit statement, for fixtures and assertions. */
  query(text: string, values?: readonly unknown[]): Promise<readonly SqlRow[]>;
  close(): Promise<void>;
}

export async function connectPostgres(
  family: PostgresFamily,
  url: string,
  max = 10,
): Promise<ConnectedPostgres> {
  if (family === "postgres.js") {
    const sql = postgres(url, { max, onnotice: () => undefined });
    return {
      family,
      client: sql,
      transaction: async <T>(work: (tx: PostgresClient) => Promise<T>, isolation?: Isolation) => {
        let result: T | undefined;
        await sql.begin(
          isolation === undefined ? "" : `isolation level ${isolation}`,
          async (tx) => {
            result = await work(tx);
          },
        );
        return result as T;
      },
      query: (text, values = []) => toSqlExecutor(sql).query(text, values),
      close: () => sql.end({ timeout: 5 }),
    };
  }
  const pool = new pg.Pool({ connectionString: url, max });
  guardPgPool(pool);
  if (family === "pg") {
    return {
      family,
      client: pool,
      transaction: (work, isolation) =>
        withPgTransaction(pool, work, isolation === undefined ? {} : { isolation }),
      query: (text, values = []) => toSqlExecutor(pool).query(text, values),
      close: () => pool.end(),
    };
  }
  const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
  return {
    family,
    client: db,
    transaction: (work, isolation) => {
      const builder = db.transaction();
      return (isolation === undefined ? builder : builder.setIsolationLevel(isolation)).execute(
        (tx) => work(tx),
      );
    },
    query: (text, values = []) => toSqlExecutor(db).query(text, values),
    close: () => db.destroy(),
  };
}
