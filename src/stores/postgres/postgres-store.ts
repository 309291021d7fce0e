import { CachedResponse, type HeaderPairs } from "../../core/cached-response.ts";
import { fencedOutcome, type FencedOutcome, type LeaseOutcome } from "../../core/fenced-outcome.ts";
import { FencingToken } from "../../core/fencing-token.ts";
import { Fingerprint } from "../../core/fingerprint.ts";
import {
  assertCompleted,
  assertProcessing,
  type Completed,
  type IdempotencyEntry,
  type Processing,
} from "../../core/idempotency-entry.ts";
import { validateKeySegment, type IdempotencyKey } from "../../core/idempotency-key.ts";
import type { IdempotencyStore, StoredEntry } from "../../core/idempotency-store.ts";
import type { InsertResult } from "../../core/insert-result.ts";
import { restoreEntry } from "../../core/restore-entry.ts";
import { assertFencingToken, assertIdempotencyKey } from "../../core/store-arguments.ts";
import {
  leaseOf,
  resolveStoreTtls,
  retentionOf,
  type LeaseOptions,
  type RetentionOptions,
  type StoreTtlOptions,
  type StoreTtls,
} from "../../core/ttl.ts";
import { ClaimLostError } from "../../errors/claim-lost-error.ts";
import { InvalidArgumentError } from "../../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../errors/malformed-record-error.ts";
import { StoreError } from "../../errors/store-error.ts";
import { validateDeadlineMs, withDeadline } from "../../utils/deadline.ts";
import { AlreadyCompletedError } from "./already-completed-error.ts";
import { guardPgPool } from "./guard-pg-pool.ts";
import { schemaVersion } from "./migrate.ts";
import {
  toSqlExecutor,
  type PostgresClient,
  type SqlExecutor,
  type SqlRow,
} from "./sql-executor.ts";
import { statementsFor, type Statements } from "./statements.ts";
import { tableName, type TableName, type TableOptions } from "./table-name.ts";
import { postgresDeadlineError, toPostgresStoreError } from "./to-store-error.ts";

/** The default of {@link PostgresStoreOptions.operationTimeoutMs}. */
const defaultOperationTimeoutMs = 5000;
/** How often a claim statement is re-run when a concurrent change hid the row from it. */
const claimAttempts = 5;

/**
 * Options of {@link PostgresStore}; `leaseTtlMs` (30 000) and `retentionTtlMs` (24 hours) are
 * the defaults of calls that give none.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { client: pool, prefix: "orders", leaseTtlMs: 10_000 };
 * ```
 */
export interface PostgresStoreOptions extends StoreTtlOptions, TableOptions {
  /**
   * For the store's own statements (claim, autocommit completion, touch, release, reads): a
   * `pg` Pool, a postgres.js `sql`, a Kysely instance, or a {@link SqlExecutor}. Give it its own
   * small pool (or enough connections beside the business transactions), so a saturated pool
   * cannot starve the lease keeper's touches. A `pg` Pool gets `error` listeners (pool and
   * every client) when it has none, so a dropped connection cannot crash the process.
   */
  readonly client: PostgresClient;
  /** Namespace of this service's keys (key rules apply: no `:` or `/`); `"idempotent"` by default. */
  readonly prefix?: string;
  /**
   * How long one statement may take, in milliseconds (a client-side timer; set
   * `statement_timeout` and `lock_timeout` on the role too, so the server stops it as well).
   * Past it the call rejects with a retryable `StoreError` of kind `timeout`, `ambiguous` for
   * every write. 5000 by default.
   */
  readonly operationTimeoutMs?: number;
  /**
   * Read before claiming: a plain `SELECT` first, the claim statement only when nothing live is
   * there. A replay then writes nothing (the claim statement locks the row, which costs WAL and
   * serializes replays of a hot key); a first claim costs two round trips. `false` by default.
   */
  readonly readFirst?: boolean;
  /**
   * Sweep expired rows every this many milliseconds, one bounded batch per tick (the timer never
   * keeps the process alive). Off by default: call {@link PostgresStore.sweep} from a job instead.
   */
  readonly sweepIntervalMs?: number;
  /** Rows visited per sweep batch; 1000 by default. */
  readonly sweepBatch?: number;
}

/**
 * What one {@link PostgresStore.sweep} batch did.
 *
 * @example
 * ```ts
 * const { deleted, visited, wrapped } = await store.sweep();
 * ```
 */
export interface SweepResult {
  /** Rows deleted: expired (plus a minute of grace that keeps their tokens) and unclaimed. */
  readonly deleted: number;
  /** Rows looked at. */
  readonly visited: number;
  /** Whether the walk reached the end of the table and starts over next time. */
  readonly wrapped: boolean;
}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function bytesOf(value: unknown, field: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  // A client that returns bytea as text ('\x…').
  if (typeof value === "string" && value.startsWith("\\x"))
    return Buffer.from(value.slice(2), "hex");
  throw new MalformedRecordError(field, "expected bytes");
}

function tokenOf(value: unknown): FencingToken {
  if (typeof value !== "string" || !/^[1-9][0-9]{0,15}$/.test(value)) {
    throw new MalformedRecordError("token", "expected a decimal integer below 2^53");
  }
  return FencingToken.fromJSON(value);
}

/** Decodes a row of the claim or get statement into a live entry. */
function decodeRow(row: SqlRow, key: string): StoredEntry {
  try {
    if (Number(row["version"]) !== schemaVersion) {
      throw new MalformedRecordError(
        "version",
        `row ${key} has layout version ${String(row["version"])}`,
      );
    }
    tokenOf(row["token"]);
    const fingerprint = Fingerprint.fromBytes(bytesOf(row["fingerprint"], "fingerprint"));
    const expiresAt = Number(row["expires_ms"]);
    if (!Number.isSafeInteger(expiresAt))
      throw new MalformedRecordError("expires_at", "not a time");
    const state = row["state"];
    if (state === "p")
      return { entry: restoreEntry({ state: "processing", fingerprint }), expiresAt };
    if (state !== "c") throw new MalformedRecordError("state", `unknown state ${String(state)}`);
    const headers = JSON.parse(String(row["headers"])) as HeaderPairs;
    const response = new CachedResponse({
      status: Number(row["status"]),
      headers,
      body: bytesOf(row["body"], "body"),
    });
    return { entry: restoreEntry({ state: "completed", fingerprint, response }), expiresAt };
  } catch (error) {
    if (error instanceof MalformedRecordError) throw error;
    throw new MalformedRecordError("", `row ${key} is corrupt`, { cause: error });
  }
}

/**
 * An {@link IdempotencyStore} on PostgreSQL (13 or later) whose completion can also commit
 * inside the caller's transaction ({@link PostgresStore.completeIn}), together with the
 * business write: exactly-once for writes in the same database.
 *
 * One table (see `createTableSql` and `migrate`; nothing migrates by itself), one row per
 * `(prefix, key)`, one statement per operation on the hot path, all on the database clock
 * (`clock_timestamp()`). Fencing tokens are the database clock in microseconds, never below the
 * row's previous token + 1: strictly increasing per key, with no global counter row, and kept by
 * a tombstone after release or purge. Bodies are `bytea`, replayed byte for byte. Each statement
 * has a deadline (`operationTimeoutMs`). The store's statements are unnamed, so they work behind
 * PgBouncer in transaction mode.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { PostgresStore, migrate } from "idempotent/postgres";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
 * await migrate(pool); // once, from your deployment
 * const store = new PostgresStore({ client: pool, prefix: "orders" });
 * const idempotency = new Idempotency({ store });
 * ```
 */
export class PostgresStore implements IdempotencyStore, AsyncDisposable {
  /** The table in use. */
  readonly table: TableName;
  readonly #executor: SqlExecutor;
  readonly #sql: Statements;
  readonly #prefix: string;
  readonly #ttls: StoreTtls;
  readonly #operationTimeoutMs: number;
  readonly #readFirst: boolean;
  readonly #sweepBatch: number;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweepCursor: readonly [string, string] = ["", ""];
  #sweeping = false;

  /** @throws {@link idempotent!InvalidArgumentError} on an option out of range. */
  constructor(options: PostgresStoreOptions) {
    this.#ttls = resolveStoreTtls(options);
    this.table = tableName(options);
    this.#sql = statementsFor(this.table);
    this.#executor = toSqlExecutor(options.client);
    guardPgPool(options.client);
    this.#prefix = validateKeySegment(options.prefix ?? "idempotent", "prefix");
    this.#operationTimeoutMs = validateDeadlineMs(
      options.operationTimeoutMs ?? defaultOperationTimeoutMs,
      "operationTimeoutMs",
    );
    this.#readFirst = options.readFirst ?? false;
    const batch = options.sweepBatch ?? 1000;
    if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) {
      throw new InvalidArgumentError("sweepBatch", "expected an integer from 1 to 100000");
    }
    this.#sweepBatch = batch;
    if (options.sweepIntervalMs !== undefined) {
      const interval = validateDeadlineMs(options.sweepIntervalMs, "sweepIntervalMs");
      this.#sweepTimer = setInterval(() => {
        if (this.#sweeping) return;
        this.sweep().catch(() => undefined);
      }, interval);
      this.#sweepTimer.unref();
    }
  }

  /** The namespace of this store's keys. */
  get prefix(): string {
    return this.#prefix;
  }

  async tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options?: LeaseOptions,
  ): Promise<InsertResult> {
    assertIdempotencyKey(key);
    assertProcessing(entry);
    const leaseTtlMs = leaseOf(options, this.#ttls);
    if (this.#readFirst) {
      const live = await this.get(key);
      if (live !== undefined)
        return { kind: "exists", entry: live.entry, expiresAt: live.expiresAt };
    }
    const values = [this.#prefix, key.value, asBuffer(entry.fingerprint.toBytes()), leaseTtlMs];
    for (let attempt = 1; ; attempt += 1) {
      const [row] = await this.#run("tryInsert", this.#sql.claim, values);
      if (row?.["claimed"] === true) {
        return { kind: "claimed", fencingToken: tokenOf(row["token"]), entry };
      }
      // No row, or a version that is no longer live: a claim committed after this statement's
      // snapshot (or a sweep deleted the row). A new statement gets a new snapshot.
      if (row !== undefined && row["live"] === true) {
        const live = decodeRow(row, key.value);
        return { kind: "exists", entry: live.entry, expiresAt: live.expiresAt };
      }
      if (attempt >= claimAttempts) {
        throw new StoreError(
          "serialization",
          "tryInsert",
          "the key kept changing under the claim",
          {
            retryable: true,
          },
        );
      }
    }
  }

  async complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<FencedOutcome> {
    const outcome = await this.#complete(
      this.#executor,
      "complete",
      key,
      entry,
      fencingToken,
      options,
    );
    return outcome === "already-completed" ? fencedOutcome.applied : fencedOutcome[outcome];
  }

  /**
   * Completes the claim `fencingToken` inside the caller's transaction `tx`; the caller then
   * commits. Run it as the transaction's last statement before COMMIT: it locks the row until
   * then, so duplicates wait for the outcome instead of seeing a completion that may still roll
   * back. The transaction must be READ COMMITTED (under REPEATABLE READ or SERIALIZABLE a
   * concurrent touch fails it with a retryable `StoreError` of kind `serialization`).
   *
   * `tx` is the transaction's client: a checked-out `pg` `PoolClient` (see `withPgTransaction`),
   * the `sql` of postgres.js `begin`, a Kysely `Transaction`, or a {@link SqlExecutor} on it.
   *
   * @example
   * ```ts
   * await withPgTransaction(pool, async (tx) => {
   *   await tx.query("INSERT INTO orders (id, total) VALUES ($1, $2)", [id, total]);
   *   await store.completeIn(tx, key, processing.complete(response), fencingToken);
   * });
   * ```
   * @throws {@link idempotent!ClaimLostError} when the claim was lost (`key-expired`, `fencing-mismatch`,
   *   `fingerprint-mismatch`): throw it on, so the business write rolls back.
   * @throws {@link AlreadyCompletedError} when this token's completion already committed (a
   *   retried transaction): roll back, the first attempt's write stands.
   * @throws {@link idempotent!StoreError} when the statement fails (kind `serialization` for 40001/40P01).
   */
  async completeIn(
    tx: PostgresClient,
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<void> {
    const outcome = await this.#complete(
      toSqlExecutor(tx),
      "completeIn",
      key,
      entry,
      fencingToken,
      options,
    );
    if (outcome === "applied") return;
    if (outcome === "already-completed") throw new AlreadyCompletedError(entry.response);
    throw new ClaimLostError(outcome, entry.response);
  }

  async touch(
    key: IdempotencyKey,
    fencingToken: FencingToken,
    options?: LeaseOptions,
  ): Promise<LeaseOutcome> {
    assertIdempotencyKey(key);
    const token = this.#token(fencingToken);
    const leaseTtlMs = leaseOf(options, this.#ttls);
    const rows = await this.#run("touch", this.#sql.touch, [
      this.#prefix,
      key.value,
      token,
      leaseTtlMs,
    ]);
    if (rows.length > 0) return fencedOutcome.applied;
    return await this.#leaseMiss(this.#executor, "touch", key);
  }

  async remove(key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome> {
    assertIdempotencyKey(key);
    const token = this.#token(fencingToken);
    const rows = await this.#run("remove", this.#sql.remove, [this.#prefix, key.value, token]);
    if (rows.length > 0) return fencedOutcome.applied;
    return await this.#leaseMiss(this.#executor, "remove", key);
  }

  async get(key: IdempotencyKey): Promise<StoredEntry | undefined> {
    assertIdempotencyKey(key);
    const [row] = await this.#run("get", this.#sql.get, [this.#prefix, key.value]);
    return row === undefined ? undefined : decodeRow(row, key.value);
  }

  async purge(key: IdempotencyKey): Promise<boolean> {
    assertIdempotencyKey(key);
    const [row] = await this.#run("purge", this.#sql.purge, [this.#prefix, key.value]);
    return row?.["was_live"] === true;
  }

  /**
   * Deletes one bounded batch of expired rows (of every prefix in the table), walking the
   * primary key from where the last batch stopped. A row is deleted only a minute past its
   * expiry (so its fencing token outlives any clock step of less than that) and only if nobody
   * claimed it again meanwhile. Safe to run from several processes at once.
   *
   * @example
   * ```ts
   * setInterval(() => void store.sweep().catch(log.warn), 1000).unref();
   * ```
   */
  async sweep(
    options: { readonly batch?: number; readonly graceMs?: number } = {},
  ): Promise<SweepResult> {
    const batch = options.batch ?? this.#sweepBatch;
    const graceMs = options.graceMs ?? 60_000;
    if (!Number.isInteger(graceMs) || graceMs < 60_000) {
      throw new InvalidArgumentError("graceMs", "expected an integer of at least 60000");
    }
    this.#sweeping = true;
    try {
      const [row] = await this.#run("sweep", this.#sql.sweep, [
        ...this.#sweepCursor,
        batch,
        graceMs,
      ]);
      const visited = Number(row?.["visited"] ?? 0);
      const wrapped = visited < batch;
      this.#sweepCursor = wrapped
        ? ["", ""]
        : [String(row?.["last_prefix"]), String(row?.["last_key"])];
      return { deleted: Number(row?.["deleted"] ?? 0), visited, wrapped };
    } finally {
      this.#sweeping = false;
    }
  }

  /**
   * Stops the sweep timer. A timed sweep already running is not waited for: it finishes on its
   * own, and its failure (the client closed meanwhile, say) is ignored. The client is yours to
   * close.
   */
  close(): void {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** Same as {@link PostgresStore.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  async #complete(
    executor: SqlExecutor,
    operation: string,
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options: RetentionOptions | undefined,
  ): Promise<FencedOutcome["kind"] | "already-completed"> {
    assertIdempotencyKey(key);
    assertCompleted(entry);
    const token = this.#token(fencingToken);
    const { response } = entry;
    const fingerprint = asBuffer(entry.fingerprint.toBytes());
    const values = [
      this.#prefix,
      key.value,
      token,
      fingerprint,
      response.status,
      JSON.stringify(response.headers),
      asBuffer(response.body),
      retentionOf(options, this.#ttls),
    ];
    for (let attempt = 1; ; attempt += 1) {
      const rows = await this.#run(operation, this.#sql.complete, values, executor);
      if (rows.length > 0) return "applied";
      // The rare path: classify on the same connection (in the caller's transaction, if any).
      const [row] = await this.#run(
        operation,
        this.#sql.classify,
        [this.#prefix, key.value],
        executor,
      );
      if (row === undefined || row["live"] !== true) return "key-expired";
      if (row["token"] !== token) return "fencing-mismatch";
      if (Number(row["version"]) !== schemaVersion) {
        throw new MalformedRecordError("version", `row ${key.value} has another layout version`);
      }
      const same =
        Buffer.compare(asBuffer(bytesOf(row["fingerprint"], "fingerprint")), fingerprint) === 0;
      if (!same) return "fingerprint-mismatch";
      if (row["state"] === "c") return "already-completed";
      // Still processing under this token: the lease was extended between the two statements.
      if (attempt >= 3) return "key-expired";
    }
  }

  async #leaseMiss(
    executor: SqlExecutor,
    operation: string,
    key: IdempotencyKey,
  ): Promise<LeaseOutcome> {
    const [row] = await this.#run(
      operation,
      this.#sql.classify,
      [this.#prefix, key.value],
      executor,
    );
    return row === undefined || row["live"] !== true
      ? fencedOutcome["key-expired"]
      : fencedOutcome["fencing-mismatch"];
  }

  #token(fencingToken: FencingToken): string {
    assertFencingToken(fencingToken);
    return fencingToken.toString();
  }

  #run(
    operation: string,
    text: string,
    values: readonly unknown[],
    executor: SqlExecutor = this.#executor,
  ): Promise<readonly SqlRow[]> {
    const timeoutMs = this.#operationTimeoutMs;
    return withDeadline(
      timeoutMs,
      async () => {
        try {
          return await executor.query(text, values);
        } catch (error) {
          throw toPostgresStoreError(error, operation);
        }
      },
      () => postgresDeadlineError(operation, timeoutMs),
    );
  }
}
