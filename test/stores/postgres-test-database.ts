// The machine's shared PostgreSQL (127.0.0.1:5432, database `test`, trust auth) for the
// PostgreSQL boundary tests: each test file works in schemas of its own, named after the
// process and the time, and drops them at the end, so files running at once never meet.
import pg from "pg";
import { migrate } from "../../src/stores/postgres/migrate.ts";

/** `IDEMPOTENT_TEST_POSTGRES_URL`, else the shared server's `test` database. */
export const sharedPostgresUrl: string =
  process.env["IDEMPOTENT_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other test file uses: `<label>_<pid>_<time>`. */
export function uniqueSchema(label: string): string {
  return `${label}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
}

/** A pool on the shared server; `options` go to `pg.Pool` (e.g. `max`, server `options`). */
export function sharedPool(options: pg.PoolConfig = {}): pg.Pool {
  return new pg.Pool({ connectionString: sharedPostgresUrl, max: 4, ...options });
}

/** Creates the store's table in `schema`. */
export async function migrateSchema(pool: pg.Pool, schema: string): Promise<void> {
  await migrate(pool, { schema });
}

/** Drops `schemas` (with everything in them). */
export async function dropSchemas(pool: pg.Pool, schemas: readonly string[]): Promise<void> {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Drops every CHECK constraint of `"schema"."entries"`, to write rows another layout could. */
export async function dropChecks(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DO $$ DECLARE c record; BEGIN
  FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = '"${schema}"."entries"'::regclass AND contype = 'c' LOOP
    EXECUTE format('ALTER TABLE "${schema}"."entries" DROP CONSTRAINT %I', c.conname);
  END LOOP; END $$`);
}
