import { toSqlExecutor, type PostgresClient } from "./sql-executor.ts";
import { tableName, type TableOptions } from "./table-name.ts";

/**
 * The table layout this version reads and writes; the table's comment names it, and
 * `checkServerConfig` compares them.
 *
 * @example
 * ```ts
 * `idempotent store, schema ${schemaVersion}`; // the table's comment
 * ```
 */
export const schemaVersion = 1;

/**
 * The DDL of the store's table, to run yourself or put into your migrations. One row per
 * `(prefix, key)`; `state` is `p` (processing), `c` (completed) or `t` (tombstone: released,
 * purged or swept, keeping the fencing token). No secondary index, so every store update is a
 * HOT update; the sweeper walks the primary key.
 *
 * @example
 * ```ts
 * await pool.query(createTableSql({ schema: "billing" }));
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on a schema or table that is not a plain identifier.
 */
export function createTableSql(options: TableOptions = {}): string {
  const name = tableName(options);
  return `CREATE SCHEMA IF NOT EXISTS "${name.schema}";
CREATE TABLE IF NOT EXISTS ${name.qualified} (
  prefix      text        COLLATE "C" NOT NULL,
  key         text        COLLATE "C" NOT NULL,
  state       text        NOT NULL CHECK (state IN ('p', 'c', 't')),
  fingerprint bytea       CHECK (octet_length(fingerprint) = 16),
  token       bigint      NOT NULL CHECK (token > 0),
  lease_ms    integer     CHECK (lease_ms > 0),
  expires_at  timestamptz NOT NULL,
  status      smallint    CHECK (status BETWEEN 200 AND 599),
  headers     text,
  body        bytea,
  version     smallint    NOT NULL DEFAULT ${schemaVersion},
  PRIMARY KEY (prefix, key),
  CHECK ((state = 'c') = (status IS NOT NULL AND headers IS NOT NULL AND body IS NOT NULL)),
  CHECK ((state = 't') = (fingerprint IS NULL))
) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
COMMENT ON TABLE ${name.qualified} IS 'idempotent store, schema ${schemaVersion}';`;
}

/**
 * Creates the schema and table if they do not exist (never alters an existing one). Nothing
 * calls it implicitly: run it from your deployment, or take {@link createTableSql} into your
 * own migrations. The client must accept several statements in one call (`pg`; postgres.js
 * `sql.unsafe`; a Kysely instance over `pg`).
 *
 * @example
 * ```ts
 * import { migrate } from "idempotent/postgres";
 * await migrate(pool); // or migrate(pool, { schema: "billing" })
 * ```
 */
export async function migrate(client: PostgresClient, options: TableOptions = {}): Promise<void> {
  const executor = toSqlExecutor(client);
  for (const statement of createTableSql(options).split(/;\n/)) {
    await executor.query(statement, []);
  }
}
