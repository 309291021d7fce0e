import { InvalidArgumentError } from "../../errors/invalid-argument-error.ts";

/**
 * Where the store's table lives: `"idempotent"."entries"` by default.
 *
 * @example
 * ```ts
 * const where: TableOptions = { schema: "billing", table: "idempotency_entries" };
 * ```
 */
export interface TableOptions {
  /** The schema; `"idempotent"` by default. Lower-case letters, digits and `_`. */
  readonly schema?: string;
  /** The table; `"entries"` by default. Lower-case letters, digits and `_`. */
  readonly table?: string;
}

/**
 * A validated, schema-qualified table name.
 *
 * @example
 * ```ts
 * const name = tableName({ schema: "billing" });
 * name.qualified; // "billing"."entries"
 * ```
 */
export interface TableName {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`, ready to put into SQL. */
  readonly qualified: string;
}

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

function check(value: string, argument: string): string {
  if (typeof value !== "string" || !identifier.test(value)) {
    throw new InvalidArgumentError(
      argument,
      "expected a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters)",
    );
  }
  return value;
}

/**
 * Validates `schema` and `table` and quotes them; the table is always schema-qualified, so a
 * `search_path` cannot send a statement to another table.
 *
 * @example
 * ```ts
 * tableName({}).qualified; // "idempotent"."entries"
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on a name that is not a plain lower-case identifier.
 */
export function tableName(options: TableOptions = {}): TableName {
  const schema = check(options.schema ?? "idempotent", "schema");
  const table = check(options.table ?? "entries", "table");
  return Object.freeze({ schema, table, qualified: `"${schema}"."${table}"` });
}
