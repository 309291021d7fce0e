import { guardClient, guardPgPool } from "./guard-pg-pool.ts";

/**
 * A checked-out node-postgres client, structurally (`pg.PoolClient`).
 *
 * @example
 * ```ts
 * const client: PgPoolClient = await pool.connect();
 * ```
 */
export interface PgPoolClient {
  query(text: string, values?: unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
  release(error?: Error | boolean): void;
}

/**
 * A node-postgres pool, structurally (`pg.Pool`).
 *
 * @example
 * ```ts
 * const pool: PgPool = new pg.Pool({ connectionString });
 * ```
 */
export interface PgPool {
  connect(): Promise<PgPoolClient>;
}

/**
 * Options of {@link withPgTransaction}.
 *
 * @example
 * ```ts
 * await withPgTransaction(pool, work, { isolation: "repeatable read" });
 * ```
 */
export interface PgTransactionOptions {
  /** The isolation level; READ COMMITTED (the server's default) is what `completeIn` needs. */
  readonly isolation?: "read committed" | "repeatable read" | "serializable";
}

/**
 * The transaction runner for node-postgres, the `pg` line of `executeInTransaction`: checks a
 * client out of `pool`, runs `BEGIN`, `work(client)` and `COMMIT` (or `ROLLBACK` when `work`
 * throws, rethrowing its error), and releases the client. A client whose transaction state is
 * unknown (a failed COMMIT or ROLLBACK) is destroyed, never returned to the pool. Every
 * statement of the transaction must use the `client` it receives: `pool.query` would run
 * outside the transaction. A lost connection rejects the current statement and never crashes
 * the process (see `guardPgPool`).
 *
 * @example
 * ```ts
 * const order = await withPgTransaction(pool, async (tx) => {
 *   const { rows } = await tx.query("INSERT INTO orders (total) VALUES ($1) RETURNING id", [total]);
 *   await store.completeIn(tx, key, completed, fencingToken);
 *   return rows[0];
 * });
 * ```
 */
export async function withPgTransaction<T>(
  pool: PgPool,
  work: (client: PgPoolClient) => Promise<T>,
  options: PgTransactionOptions = {},
): Promise<T> {
  guardPgPool(pool);
  const client = await pool.connect();
  guardClient(client);
  let broken: Error | undefined;
  try {
    await client.query(
      options.isolation === undefined
        ? "BEGIN"
        : `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}`,
    );
    let result: T;
    try {
      result = await work(client);
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    }
    try {
      await client.query("COMMIT");
    } catch (commitError) {
      // Committed or not is unknown when the reply was lost: never reuse this connection.
      broken = commitError instanceof Error ? commitError : new Error(String(commitError));
      throw commitError;
    }
    return result;
  } catch (error) {
    broken ??= isConnectionError(error) ? (error as Error) : undefined;
    throw error;
  } finally {
    client.release(broken ?? false);
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^(08|57P)/.test(code)) return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|ECONNRESET|not queryable|EPIPE/i.test(message);
}
