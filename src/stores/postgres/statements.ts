import { schemaVersion } from "./migrate.ts";
import type { TableName } from "./table-name.ts";

/**
 * The store's SQL, one statement per operation, for one table. Every statement runs on the
 * database clock (`clock_timestamp()`, never `now()`, which is frozen at a transaction's start)
 * and returns only `text`, `float8`, `int`, `bool` and `bytea` columns, so every driver decodes
 * them alike. Parameters: `$1` prefix, `$2` key, then per statement.
 *
 * @example
 * ```ts
 * const sql = statementsFor(tableName({}));
 * await executor.query(sql.get, [prefix, key]);
 * ```
 */
export interface Statements {
  /** `$3` fingerprint, `$4` lease ms: claims a free row or returns the live one. */
  readonly claim: string;
  /** The live row, if any. */
  readonly get: string;
  /** `$3` token, `$4` fingerprint, `$5` status, `$6` headers, `$7` body, `$8` retention ms. */
  readonly complete: string;
  /** `$3` token, `$4` lease ms. */
  readonly touch: string;
  /** `$3` token. */
  readonly remove: string;
  /** Any row: its state, token and liveness, for the outcome of a fenced write that missed. */
  readonly classify: string;
  /** Tombstones any row; `was_live` says whether it was live. */
  readonly purge: string;
  /** `$1`, `$2` the keyset cursor, `$3` the batch size, `$4` the grace in ms. */
  readonly sweep: string;
}

const tokenNow = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
const expiresMs = "floor(extract(epoch FROM expires_at) * 1000)::float8";
const liveNow = "state <> 't' AND expires_at > clock_timestamp()";
/** A released or purged row keeps its token this long past release, as the Valkey store. */
const tombstoneTtl = "interval '1 minute'";

/**
 * Builds the statements for `table`.
 *
 * @example
 * ```ts
 * const { claim } = statementsFor(tableName({ schema: "billing" }));
 * ```
 */
export function statementsFor(table: TableName): Statements {
  const t = table.qualified;
  const row = `state, token::text AS token, fingerprint, status::int AS status, headers, body, version::int AS version, ${expiresMs} AS expires_ms`;
  return Object.freeze({
    // ON CONFLICT sees the newest committed row and re-checks it under the row lock. The
    // second branch locks the row too (FOR SHARE, which conflicts with the UPDATE of a completion; ON CONFLICT already holds a stronger
    // lock on it), so under READ COMMITTED it returns the newest version, not the statement
    // snapshot's: a claim that waited behind a committing completion reports it completed.
    claim: `WITH claim AS (
  INSERT INTO ${t} AS e (prefix, key, state, fingerprint, token, lease_ms, expires_at, version)
  VALUES ($1, $2, 'p', $3, ${tokenNow}, $4::int, clock_timestamp() + $4::int * interval '1 millisecond', ${schemaVersion})
  ON CONFLICT (prefix, key) DO UPDATE SET
    state = 'p', fingerprint = EXCLUDED.fingerprint,
    token = GREATEST(EXCLUDED.token, e.token + 1),
    lease_ms = EXCLUDED.lease_ms, expires_at = EXCLUDED.expires_at,
    status = NULL, headers = NULL, body = NULL, version = ${schemaVersion}
  WHERE e.state = 't' OR e.expires_at <= clock_timestamp()
  RETURNING e.token, e.expires_at
), current AS (
  SELECT ${row}, ${liveNow} AS live
    FROM ${t} WHERE prefix = $1 AND key = $2 AND NOT EXISTS (SELECT FROM claim)
     FOR SHARE
)
SELECT true AS claimed, token::text AS token, ${expiresMs} AS expires_ms,
       NULL::text AS state, NULL::bytea AS fingerprint, NULL::int AS status, NULL::text AS headers,
       NULL::bytea AS body, ${schemaVersion} AS version, true AS live
  FROM claim
UNION ALL
SELECT false, token, expires_ms, state, fingerprint, status, headers, body, version, live FROM current`,
    get: `SELECT ${row} FROM ${t} WHERE prefix = $1 AND key = $2 AND ${liveNow}`,
    complete: `UPDATE ${t}
   SET state = 'c', status = $5::int, headers = $6::text, body = $7::bytea,
       expires_at = clock_timestamp() + $8::int * interval '1 millisecond'
 WHERE prefix = $1 AND key = $2 AND token = $3::bigint AND state = 'p' AND fingerprint = $4::bytea
   AND expires_at > clock_timestamp() AND version = ${schemaVersion}
RETURNING 1 AS applied`,
    touch: `UPDATE ${t}
   SET expires_at = clock_timestamp() + $4::int * interval '1 millisecond', lease_ms = $4::int
 WHERE prefix = $1 AND key = $2 AND token = $3::bigint AND state = 'p'
   AND expires_at > clock_timestamp() AND version = ${schemaVersion}
RETURNING 1 AS applied`,
    remove: `UPDATE ${t}
   SET state = 't', fingerprint = NULL, status = NULL, headers = NULL, body = NULL,
       expires_at = clock_timestamp() + ${tombstoneTtl}
 WHERE prefix = $1 AND key = $2 AND token = $3::bigint AND state = 'p'
   AND expires_at > clock_timestamp() AND version = ${schemaVersion}
RETURNING 1 AS applied`,
    classify: `SELECT state, token::text AS token, fingerprint, version::int AS version, ${liveNow} AS live
  FROM ${t} WHERE prefix = $1 AND key = $2`,
    // "old" locks the newest version first (the UPDATE depends on it), so was_live describes
    // the row the UPDATE then turns into a tombstone.
    purge: `WITH old AS (
  SELECT ${liveNow} AS live FROM ${t} WHERE prefix = $1 AND key = $2 FOR UPDATE
), upd AS (
  UPDATE ${t} SET state = 't', fingerprint = NULL, status = NULL, headers = NULL, body = NULL,
         version = ${schemaVersion}, expires_at = clock_timestamp() + ${tombstoneTtl}
   WHERE prefix = $1 AND key = $2 AND EXISTS (SELECT FROM old)
  RETURNING 1
)
SELECT coalesce((SELECT live FROM old), false) AS was_live, (SELECT count(*) FROM upd)::int AS changed`,
    // A keyset walk along the primary key (no index on expires_at, so updates stay HOT).
    // now() is fine here: the sweep runs alone in autocommit, and the DELETE re-checks each
    // row's newest version under its lock, so a row claimed again meanwhile is kept.
    sweep: `WITH batch AS (
  SELECT prefix, key, expires_at FROM ${t}
   WHERE (prefix, key) > ($1::text COLLATE "C", $2::text COLLATE "C")
   ORDER BY prefix, key LIMIT $3::int
), del AS (
  DELETE FROM ${t} e USING batch b
   WHERE e.prefix = b.prefix AND e.key = b.key
     AND b.expires_at < now() - $4::int * interval '1 millisecond'
     AND e.expires_at < now() - $4::int * interval '1 millisecond'
  RETURNING 1
), last AS (
  SELECT prefix, key FROM batch ORDER BY prefix DESC, key DESC LIMIT 1
)
SELECT (SELECT count(*) FROM del)::int AS deleted, (SELECT count(*) FROM batch)::int AS visited,
       (SELECT prefix FROM last) AS last_prefix, (SELECT key FROM last) AS last_key`,
  });
}
