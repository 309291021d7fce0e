/**
 * The conformance suite of a store that completes inside a transaction (`completeIn`), to run
 * with vitest.
 *
 * @module idempotent/testing/transactional
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../core/cached-response.ts";
import type { FencingToken } from "../core/fencing-token.ts";
import { Fingerprint } from "../core/fingerprint.ts";
import { IdempotencyEntry, type Completed } from "../core/idempotency-entry.ts";
import { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import type { RetentionOptions } from "../core/ttl.ts";
import { ClaimLostError } from "../errors/claim-lost-error.ts";
import { StoreError } from "../errors/store-error.ts";
import { delay } from "../utils/delay.ts";

/**
 * A store whose completion can run inside the caller's transaction `Tx` (the PostgreSQL
 * store's `completeIn`). It throws a `ClaimLostError` when the claim was lost, and one with
 * `alreadyCompleted: true` when this token's completion already committed.
 *
 * @example
 * ```ts
 * const store: TransactionalStore<PoolClient> = new PostgresStore({ client: pool });
 * ```
 */
export interface TransactionalStore<Tx> extends IdempotencyStore {
  completeIn(
    tx: Tx,
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<void>;
}

/**
 * How {@link runTransactionalStoreConformance} drives a store and its client.
 *
 * @example
 * ```ts
 * const options: TransactionalConformanceOptions<PoolClient, PostgresStore> = {
 *   name: "PostgresStore via pg",
 *   createStore: () => new PostgresStore({ client: pool }),
 *   transaction: (work, isolation) => withPgTransaction(pool, work, { isolation }),
 *   insertBusinessRow: async (tx, key, token) => void (await tx.query("INSERT …", [key, token])),
 *   businessRows: async (key) => (await pool.query("SELECT token …", [key])).rows.map((r) => r.token),
 * };
 * ```
 */
export interface TransactionalConformanceOptions<Tx, S extends TransactionalStore<Tx>> {
  /** Suite name, e.g. `"PostgresStore via pg"`. */
  readonly name: string;
  /** A store to test; each test uses fresh random keys. */
  readonly createStore: () => S | Promise<S>;
  readonly disposeStore?: (store: S) => void | Promise<void>;
  /**
   * Runs `work` in a transaction at `isolation` (the client's default when left out): commits
   * when it resolves, rolls back and rejects when it throws.
   */
  readonly transaction: <T>(
    work: (tx: Tx) => Promise<T>,
    isolation?: "read committed" | "repeatable read",
  ) => Promise<T>;
  /** Writes one business row for `key`, carrying `token`, in `tx`. */
  readonly insertBusinessRow: (tx: Tx, key: string, token: string) => Promise<void>;
  /** The tokens of the committed business rows of `key`. */
  readonly businessRows: (key: string) => Promise<readonly string[]>;
  /** A lease short enough to sleep through; 300 ms by default. */
  readonly shortTtlMs?: number;
  readonly setup?: () => void | Promise<void>;
  readonly teardown?: () => void | Promise<void>;
}

const longTtlMs = 600_000;
const fingerprint = (seed: number) => Fingerprint.fromHex(seed.toString(16).padStart(32, "0"));
const response = () => CachedResponse.from(new Uint8Array([0, 1, 2, 255]));

/** The outcome a completeIn rejection reports. */
function rejection(error: unknown): string {
  if ((error as { alreadyCompleted?: unknown }).alreadyCompleted === true) {
    return "already-completed";
  }
  if (error instanceof ClaimLostError) return error.outcome;
  throw error;
}

/**
 * The transactional completion contract, as a vitest suite: a completion inside the caller's
 * transaction commits or rolls back with its business write; a lost claim (taken over,
 * expired, another fingerprint) throws so the write rolls back; the same token again after a
 * committed completion is `already-completed`, never `applied`; a release after an unknown
 * COMMIT outcome is safe; a lease that runs out during the transaction is seen (the database
 * clock, not the transaction's start time); a duplicate claim arriving between completion and
 * COMMIT waits and reports the completion; REPEATABLE READ plus a concurrent lease extension
 * fails with a retryable `serialization` error. Run it once per client adapter.
 *
 * @example
 * ```ts
 * import { runTransactionalStoreConformance } from "idempotent/testing/transactional";
 *
 * runTransactionalStoreConformance({
 *   name: "PostgresStore via pg",
 *   createStore: () => new PostgresStore({ client: pool }),
 *   transaction: (work, isolation) => withPgTransaction(pool, work, isolation ? { isolation } : {}),
 *   insertBusinessRow: async (tx, key, token) => {
 *     await tx.query("INSERT INTO effects (key, token) VALUES ($1, $2)", [key, token]);
 *   },
 *   businessRows: async (key) =>
 *     (await pool.query("SELECT token FROM effects WHERE key = $1", [key])).rows.map((r) => r.token),
 * });
 * ```
 */
export function runTransactionalStoreConformance<Tx, S extends TransactionalStore<Tx>>(
  options: TransactionalConformanceOptions<Tx, S>,
): void {
  const shortTtlMs = options.shortTtlMs ?? 300;
  const withStore = (test: (store: S) => Promise<void>) => async (): Promise<void> => {
    const store = await options.createStore();
    try {
      await test(store);
    } finally {
      await options.disposeStore?.(store);
    }
  };
  const claim = async (store: S, key: IdempotencyKey, leaseTtlMs = longTtlMs, seed = 1) => {
    const entry = IdempotencyEntry.new(fingerprint(seed));
    const result = await store.tryInsert(key, entry, { leaseTtlMs });
    if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
    return result;
  };
  /** A transaction that writes a business row and completes; the outcome of completeIn. */
  const completeInTransaction = async (
    store: S,
    key: IdempotencyKey,
    token: FencingToken,
    seed = 1,
    then: "commit" | "rollback" = "commit",
  ): Promise<string> => {
    const completed = IdempotencyEntry.new(fingerprint(seed)).complete(response());
    try {
      await options.transaction(async (tx) => {
        await options.insertBusinessRow(tx, key.value, token.toString());
        await store.completeIn(tx, key, completed, token);
        if (then === "rollback") throw new Error("rollback requested");
      });
      return "applied";
    } catch (error) {
      if (error instanceof Error && error.message === "rollback requested") return "rolled-back";
      return rejection(error);
    }
  };

  describe(`${options.name} completes inside the caller's transaction`, () => {
    if (options.setup !== undefined) beforeAll(options.setup);
    if (options.teardown !== undefined) afterAll(options.teardown);

    it(
      "commits the completion with the business row",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key);
        expect(await completeInTransaction(store, key, fencingToken)).toBe("applied");
        const stored = await store.get(key);
        expect(stored?.entry.state).toBe("completed");
        if (stored?.entry.state === "completed") {
          expect([...stored.entry.response.body]).toEqual([0, 1, 2, 255]);
        }
        expect(await options.businessRows(key.value)).toEqual([fencingToken.toString()]);
      }),
    );

    it(
      "rolls the completion back with the business row; the claim stays, then expires",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key, shortTtlMs);
        expect(await completeInTransaction(store, key, fencingToken, 1, "rollback")).toBe(
          "rolled-back",
        );
        expect((await store.get(key))?.entry.state).toBe("processing");
        expect((await store.touch(key, fencingToken, { leaseTtlMs: shortTtlMs })).kind).toBe(
          "applied",
        );
        expect(await options.businessRows(key.value)).toEqual([]);
        await delay(shortTtlMs + 100);
        const again = await claim(store, key);
        expect(again.fencingToken.value > fencingToken.value).toBe(true);
      }),
    );

    it(
      "refuses a taken-over token (fencing-mismatch) and rolls the business row back",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const first = await claim(store, key, shortTtlMs);
        await delay(shortTtlMs + 100);
        const second = await claim(store, key);
        expect(await completeInTransaction(store, key, first.fencingToken)).toBe(
          "fencing-mismatch",
        );
        expect(await options.businessRows(key.value)).toEqual([]);
        expect(await completeInTransaction(store, key, second.fencingToken)).toBe("applied");
        expect(await options.businessRows(key.value)).toEqual([second.fencingToken.toString()]);
      }),
    );

    it(
      "refuses an expired, unclaimed token (key-expired)",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key, shortTtlMs);
        await delay(shortTtlMs + 100);
        expect(await completeInTransaction(store, key, fencingToken)).toBe("key-expired");
        expect(await options.businessRows(key.value)).toEqual([]);
      }),
    );

    it(
      "refuses another request's completion (fingerprint-mismatch)",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key);
        expect(await completeInTransaction(store, key, fencingToken, 2)).toBe(
          "fingerprint-mismatch",
        );
        expect(await options.businessRows(key.value)).toEqual([]);
        expect((await store.get(key))?.entry.state).toBe("processing");
      }),
    );

    it(
      "answers already-completed, never applied, to the same token after a committed completion",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key);
        expect(await completeInTransaction(store, key, fencingToken)).toBe("applied");
        expect(await completeInTransaction(store, key, fencingToken)).toBe("already-completed");
        expect(await options.businessRows(key.value)).toHaveLength(1);
        // Outside a transaction the same call is the contract's retried completion.
        const completed = IdempotencyEntry.new(fingerprint(1)).complete(response());
        expect((await store.complete(key, completed, fencingToken)).kind).toBe("applied");
      }),
    );

    it(
      "releases safely after a COMMIT of unknown outcome: a no-op when committed, a release when rolled back",
      withStore(async (store) => {
        const committedKey = IdempotencyKey.random();
        const committed = await claim(store, committedKey);
        expect(await completeInTransaction(store, committedKey, committed.fencingToken)).toBe(
          "applied",
        );
        expect((await store.remove(committedKey, committed.fencingToken)).kind).toBe(
          "fencing-mismatch",
        );
        expect((await store.get(committedKey))?.entry.state).toBe("completed");

        const rolledBackKey = IdempotencyKey.random();
        const rolledBack = await claim(store, rolledBackKey);
        await completeInTransaction(store, rolledBackKey, rolledBack.fencingToken, 1, "rollback");
        expect((await store.remove(rolledBackKey, rolledBack.fencingToken)).kind).toBe("applied");
        const next = await claim(store, rolledBackKey);
        expect(next.fencingToken.value > rolledBack.fencingToken.value).toBe(true);
      }),
    );

    it(
      "sees a lease run out while the transaction is open (the database clock, not the transaction's start)",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key, shortTtlMs);
        const completed = IdempotencyEntry.new(fingerprint(1)).complete(response());
        let outcome = "applied";
        try {
          await options.transaction(async (tx) => {
            await options.insertBusinessRow(tx, key.value, fencingToken.toString());
            await delay(shortTtlMs + 100);
            await store.completeIn(tx, key, completed, fencingToken);
          });
        } catch (error) {
          outcome = rejection(error);
        }
        expect(outcome).toBe("key-expired");
        expect(await options.businessRows(key.value)).toEqual([]);
      }),
    );

    it(
      "makes a duplicate claim that arrives between completion and COMMIT wait, then replay",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key);
        const completed = IdempotencyEntry.new(fingerprint(1)).complete(response());
        let duplicate: ReturnType<S["tryInsert"]> | undefined;
        await options.transaction(async (tx) => {
          await options.insertBusinessRow(tx, key.value, fencingToken.toString());
          await store.completeIn(tx, key, completed, fencingToken);
          duplicate = store.tryInsert(key, IdempotencyEntry.new(fingerprint(1))) as ReturnType<
            S["tryInsert"]
          >;
          await delay(150);
        });
        const result = await duplicate;
        expect(result?.kind).toBe("exists");
        if (result?.kind === "exists") expect(result.entry.state).toBe("completed");
      }),
    );

    it(
      "fails a REPEATABLE READ completion after a concurrent touch with a retryable serialization error",
      withStore(async (store) => {
        const key = IdempotencyKey.random();
        const { fencingToken } = await claim(store, key);
        const completed = IdempotencyEntry.new(fingerprint(1)).complete(response());
        let failure: unknown;
        try {
          await options.transaction(async (tx) => {
            await options.insertBusinessRow(tx, key.value, fencingToken.toString()); // snapshot taken
            expect((await store.touch(key, fencingToken)).kind).toBe("applied");
            await store.completeIn(tx, key, completed, fencingToken);
          }, "repeatable read");
        } catch (error) {
          failure = error;
        }
        expect(failure).toBeInstanceOf(StoreError);
        expect((failure as StoreError).kind).toBe("serialization");
        expect((failure as StoreError).retryable).toBe(true);
        expect(await options.businessRows(key.value)).toEqual([]);
        // The claim is intact: a READ COMMITTED retry completes it.
        expect(await completeInTransaction(store, key, fencingToken)).toBe("applied");
      }),
    );
  });
}
