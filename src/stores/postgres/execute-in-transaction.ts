import { CachedResponse } from "../../core/cached-response.ts";
import { IdempotencyEntry } from "../../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../../core/idempotency-key.ts";
import { InvalidArgumentError } from "../../errors/invalid-argument-error.ts";
import type { ClaimGuard, ResponseInput } from "../../execution/claim-guard.ts";
import type { ExecutionOutcome } from "../../execution/execution-outcome.ts";
import type { ExecutionRequest, Idempotency } from "../../execution/idempotency.ts";
import { PostgresStore } from "./postgres-store.ts";
import type { PostgresClient } from "./sql-executor.ts";

/**
 * What the side effect of {@link executeInTransaction} receives.
 *
 * @example
 * ```ts
 * async ({ tx, signal }) => {
 *   await tx.query("INSERT INTO orders (id) VALUES ($1)", [id]);
 *   return CachedResponse.from({ id }, { status: 201 });
 * }
 * ```
 */
export interface TransactionContext<Tx> {
  /** The caller's transaction: run every business statement on it. */
  readonly tx: Tx;
  /** Aborted when the claim is lost (the lease could not be extended); stop then. */
  readonly signal: AbortSignal;
  /** The claim's guard, e.g. for its fencing token. Do not complete or release it yourself. */
  readonly guard: ClaimGuard;
}

/**
 * A client's own transaction runner: runs `work` in a transaction, commits when it resolves,
 * rolls back and rejects when it throws. One line per client:
 * `(work) => withPgTransaction(pool, work)` (pg), `(work) => sql.begin(work)` (postgres.js),
 * `(work) => db.transaction().execute(work)` (Kysely).
 *
 * @example
 * ```ts
 * const runner: TransactionRunner<PgPoolClient> = (work) => withPgTransaction(pool, work);
 * ```
 */
export type TransactionRunner<Tx> = (
  work: (tx: Tx) => Promise<CachedResponse>,
) => PromiseLike<CachedResponse>;

/**
 * Options of {@link executeInTransaction}.
 *
 * @example
 * ```ts
 * await executeInTransaction(idempotency, key, request, runner, work, { waitMs: 2000 });
 * ```
 */
export interface ExecuteInTransactionOptions {
  /** Wait up to this long for another caller's claim to finish, as `Idempotency.execute`. */
  readonly waitMs?: number;
  /** How long the response is replayed; the store's default retention when left out. */
  readonly retentionTtlMs?: number;
}

/**
 * `Idempotency.execute` with a transactional completion: exactly-once for a side effect that is
 * a write in the store's database. It claims `key` on its own (committed before the transaction
 * starts, so duplicates see it), runs `sideEffect` inside `runner`'s transaction, and completes
 * the key there as the last statement before COMMIT; the business write and the completion
 * commit together or not at all. A lost claim throws `ClaimLostError` inside the transaction, so
 * it rolls back. When the runner rejects for any reason (a side effect error, a lost claim, a
 * failed or ambiguous COMMIT), the claim is released with `remove`: that is a no-op when the
 * transaction did commit (the row is completed), and frees the key for a retry when it rolled
 * back. The runner's error is rethrown. Replays never open a transaction.
 *
 * It lives in `idempotent/postgres` rather than on `Idempotency`: it needs the store's
 * `completeIn`, which is not part of the store contract.
 *
 * @example
 * ```ts
 * // The client type names what `tx` is: TypeScript cannot read it off the runner.
 * const outcome = await executeInTransaction<PgPoolClient>(
 *   idempotency, // new Idempotency({ store: postgresStore })
 *   key,
 *   { operation: "POST /orders", body: rawBody },
 *   (work) => withPgTransaction(pool, work),
 *   async ({ tx }) => {
 *     await tx.query("INSERT INTO orders (id, total) VALUES ($1, $2)", [id, total]);
 *     return CachedResponse.from({ id }, { status: 201 });
 *   },
 * );
 * ```
 * @throws {@link idempotent!InvalidArgumentError} when `idempotency.store` is not a {@link PostgresStore}.
 * @throws whatever the runner rejects with: the side effect's error, a `ClaimLostError`, an
 *   `AlreadyCompletedError`, a `StoreError`, or the client's COMMIT error.
 */
export async function executeInTransaction<Tx extends PostgresClient>(
  idempotency: Idempotency,
  key: IdempotencyKey,
  request: ExecutionRequest,
  runner: TransactionRunner<Tx>,
  sideEffect: (context: TransactionContext<Tx>) => ResponseInput | Promise<ResponseInput>,
  options: ExecuteInTransactionOptions = {},
): Promise<ExecutionOutcome> {
  const store = idempotency.store;
  if (!(store instanceof PostgresStore)) {
    throw new InvalidArgumentError("idempotency", "expected an Idempotency on a PostgresStore");
  }
  const claim = await idempotency.claim(
    key,
    request,
    options.waitMs === undefined ? {} : { waitMs: options.waitMs },
  );
  if (claim.kind !== "claimed") return claim;
  const { guard } = claim;
  const processing = IdempotencyEntry.new(idempotency.fingerprint(request));
  const retention =
    options.retentionTtlMs === undefined ? {} : { retentionTtlMs: options.retentionTtlMs };
  try {
    const response = await runner(async (tx) => {
      const cached = CachedResponse.from(await sideEffect({ tx, signal: guard.signal, guard }));
      // Stop the lease keeper: from here the completion's row lock holds the key until COMMIT.
      if (!guard.settled) guard.abandon();
      await store.completeIn(tx, key, processing.complete(cached), guard.fencingToken, retention);
      return cached;
    });
    return { kind: "executed", response };
  } catch (error) {
    // Rolled back, committed, or unknown: remove is right in every case (see above).
    if (!guard.settled) guard.abandon();
    await store.remove(key, guard.fencingToken).catch(() => undefined);
    throw error;
  }
}
