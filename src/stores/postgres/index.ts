/**
 * The PostgreSQL store, which can complete a key inside your own transaction, and its helpers
 * for `pg`, postgres.js and Kysely.
 *
 * @module idempotent/postgres
 */
export { PostgresStore, type PostgresStoreOptions, type SweepResult } from "./postgres-store.ts";
export { AlreadyCompletedError } from "./already-completed-error.ts";
export {
  executeInTransaction,
  type ExecuteInTransactionOptions,
  type TransactionContext,
  type TransactionRunner,
} from "./execute-in-transaction.ts";
export {
  withPgTransaction,
  type PgPool,
  type PgPoolClient,
  type PgTransactionOptions,
} from "./with-pg-transaction.ts";
export { guardClient, guardPgPool } from "./guard-pg-pool.ts";
export { createTableSql, migrate, schemaVersion } from "./migrate.ts";
export { tableName, type TableName, type TableOptions } from "./table-name.ts";
export {
  toSqlExecutor,
  type KyselyExecutor,
  type PgQueryable,
  type PostgresClient,
  type PostgresJsSql,
  type SqlExecutor,
  type SqlRow,
} from "./sql-executor.ts";
export {
  checkServerConfig,
  type CheckServerConfigOptions,
  type ServerConfigFinding,
} from "./check-server-config.ts";
export { toPostgresStoreError } from "./to-store-error.ts";
