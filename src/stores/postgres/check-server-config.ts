import { validateDeadlineMs, withDeadline } from "../../utils/deadline.ts";
import { schemaVersion } from "./migrate.ts";
import { toSqlExecutor, type PostgresClient, type SqlRow } from "./sql-executor.ts";
import { tableName, type TableOptions } from "./table-name.ts";
import { postgresDeadlineError, toPostgresStoreError } from "./to-store-error.ts";

/**
 * One risky setting found by {@link checkServerConfig}. `error`: a guarantee breaks (a crash
 * can lose acknowledged claims or completions, or the store cannot work); `warning`: it may
 * break in a failover or a torn page, or it costs retries; `info`: a trade-off to know.
 *
 * @example
 * ```ts
 * const finding: ServerConfigFinding = { setting: "fsync", value: "off", severity: "error", message: "…" };
 * ```
 */
export interface ServerConfigFinding {
  /** The setting or object, e.g. `fsync` or `table`. */
  readonly setting: string;
  /** Its value (`missing` for an absent table). */
  readonly value: string;
  readonly severity: "error" | "warning" | "info";
  readonly message: string;
}

/**
 * Options of {@link checkServerConfig}: where the table is, and a deadline.
 *
 * @example
 * ```ts
 * await checkServerConfig(pool, { schema: "billing", timeoutMs: 1000 });
 * ```
 */
export interface CheckServerConfigOptions extends TableOptions {
  /** How long each query may take, in milliseconds; 5000 by default. */
  readonly timeoutMs?: number;
}

/** Column name and type, in table order, as `format_type` spells them. */
const expectedColumns = [
  "prefix text",
  "key text",
  "state text",
  "fingerprint bytea",
  "token bigint",
  "lease_ms integer",
  "expires_at timestamp with time zone",
  "status smallint",
  "headers text",
  "body bytea",
  "version smallint",
].join(",");

/**
 * Checks the server and the table for settings that break the store's guarantees: an
 * UNLOGGED table (crash recovery empties it, so every completed key runs again), `fsync = off`,
 * asynchronous commit (`synchronous_commit = off`: an acknowledged claim or completion can be
 * lost in a crash), a missing table or another layout, and a default isolation other than READ
 * COMMITTED (`completeIn` then fails with serialization errors whenever a touch lands during the
 * transaction). Returns the findings; an empty list means nothing risky was found. Run it at
 * startup and refuse to serve on an `error`.
 *
 * @example
 * ```ts
 * import { checkServerConfig } from "idempotent/postgres";
 *
 * const findings = await checkServerConfig(pool);
 * if (findings.some((f) => f.severity === "error")) throw new Error(JSON.stringify(findings));
 * ```
 * @throws {@link idempotent!StoreError} when the server cannot be queried.
 */
export async function checkServerConfig(
  client: PostgresClient,
  options: CheckServerConfigOptions = {},
): Promise<ServerConfigFinding[]> {
  const executor = toSqlExecutor(client);
  const name = tableName(options);
  const timeoutMs = validateDeadlineMs(options.timeoutMs ?? 5000, "timeoutMs");
  const run = (text: string, values: unknown[]): Promise<readonly SqlRow[]> =>
    withDeadline(
      timeoutMs,
      async () => {
        try {
          return await executor.query(text, values);
        } catch (error) {
          throw toPostgresStoreError(error, "checkServerConfig");
        }
      },
      () => postgresDeadlineError("checkServerConfig", timeoutMs),
    );
  const findings: ServerConfigFinding[] = [];
  const settings = new Map<string, string>();
  for (const row of await run(
    `SELECT name, setting FROM pg_settings WHERE name IN
       ('fsync', 'synchronous_commit', 'full_page_writes', 'default_transaction_isolation', 'synchronous_standby_names')`,
    [],
  )) {
    settings.set(String(row["name"]), String(row["setting"]));
  }
  if (settings.get("fsync") === "off") {
    findings.push({
      setting: "fsync",
      value: "off",
      severity: "error",
      message: "a crash can lose or corrupt committed claims and completions; keys then run again",
    });
  }
  const commit = settings.get("synchronous_commit") ?? "on";
  if (commit === "off") {
    findings.push({
      setting: "synchronous_commit",
      value: commit,
      severity: "error",
      message:
        "asynchronous commit: a crash loses the last acknowledged claims and completions, so their keys run again",
    });
  } else if (commit === "local" && (settings.get("synchronous_standby_names") ?? "") !== "") {
    findings.push({
      setting: "synchronous_commit",
      value: commit,
      severity: "warning",
      message:
        "commits do not wait for the synchronous standbys: a failover can lose acknowledged completions",
    });
  }
  if (settings.get("full_page_writes") === "off") {
    findings.push({
      setting: "full_page_writes",
      value: "off",
      severity: "warning",
      message: "a torn page after a crash can corrupt rows",
    });
  }
  const isolation = settings.get("default_transaction_isolation") ?? "read committed";
  if (isolation !== "read committed") {
    findings.push({
      setting: "default_transaction_isolation",
      value: isolation,
      severity: "warning",
      message:
        "completeIn needs READ COMMITTED; under this level a lease extension during the transaction fails it with a serialization error",
    });
  }
  const [table] = await run(
    `SELECT c.relpersistence::text AS persistence, obj_description(c.oid, 'pg_class') AS comment,
            (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [name.schema, name.table],
  );
  if (table === undefined) {
    findings.push({
      setting: "table",
      value: "missing",
      severity: "error",
      message: `${name.qualified} does not exist in this database: run migrate() or createTableSql()`,
    });
    return findings;
  }
  if (table["persistence"] === "u") {
    findings.push({
      setting: "table",
      value: "unlogged",
      severity: "error",
      message: `${name.qualified} is UNLOGGED: crash recovery empties it and every completed key runs again`,
    });
  }
  const comment = typeof table["comment"] === "string" ? table["comment"] : "";
  if (
    comment !== `idempotent store, schema ${schemaVersion}` ||
    table["columns"] !== expectedColumns
  ) {
    findings.push({
      setting: "table",
      value: comment === "" ? "no schema comment" : comment,
      severity: "error",
      message: `${name.qualified} does not have layout ${schemaVersion} (columns: ${String(table["columns"])})`,
    });
  }
  return findings;
}
