import { CachedResponse, type JsonValue } from "../core/cached-response.ts";
import type { FencingToken } from "../core/fencing-token.ts";
import type { IdempotencyEntry, Processing } from "../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { ClaimLostError } from "../errors/claim-lost-error.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { StoreError } from "../errors/store-error.ts";
import type { IdempotencyEvent } from "./idempotency-event.ts";
import { contained } from "../utils/contained.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { delay } from "../utils/delay.ts";

/**
 * What a side effect may return; turned into a response by {@link CachedResponse.from}.
 *
 * @example
 * ```ts
 * const input: ResponseInput = { id: 42 }; // or a string, bytes, a CachedResponse, undefined (204)
 * ```
 */
export type ResponseInput = CachedResponse | string | Uint8Array | JsonValue | undefined;

/**
 * Options of {@link ClaimGuard.complete}.
 *
 * @example
 * ```ts
 * await guard.complete(CachedResponse.from(order, { status: 201 }), { retentionTtlMs: 3_600_000 });
 * ```
 */
export interface CompleteOptions {
  /** How long the response is replayed, in milliseconds; the guard's retention by default. */
  readonly retentionTtlMs?: number;
}

/** What a {@link ClaimGuard} needs from its creator. */
export interface ClaimGuardInit {
  readonly store: IdempotencyStore;
  readonly key: IdempotencyKey;
  readonly fencingToken: FencingToken;
  readonly entry: IdempotencyEntry<Processing>;
  /** The lease the claim was taken for, extended by as much while it runs. */
  readonly leaseTtlMs: number;
  readonly retentionTtlMs: number;
  /** When the claim was sent, in milliseconds since the epoch. */
  readonly claimedAt: number;
  /** Told when the claim is completed, released or lost, or its store fails. */
  readonly onEvent?: ((event: IdempotencyEvent) => void) | undefined;
}

/**
 * A won claim: keeps its lease alive while the side effect runs, and is settled exactly once,
 * by {@link ClaimGuard.complete} or {@link ClaimGuard.release}. With `await using`, a scope
 * that exits without completing releases the claim, so a retry can run again.
 *
 * @example
 * ```ts
 * const claim = await idempotency.claim(key, { operation: "POST /orders", body });
 * if (claim.kind === "claimed") {
 *   await using guard = claim.guard;
 *   const order = await createOrder({ signal: guard.signal });
 *   return await guard.complete(CachedResponse.from(order, { status: 201 }));
 * } // thrown before complete? the claim is released here
 * ```
 */
export class ClaimGuard implements AsyncDisposable {
  /** The claimed key. */
  readonly key: IdempotencyKey;
  /** The claim's fencing token. */
  readonly fencingToken: FencingToken;
  readonly #init: ClaimGuardInit;
  readonly #leaseKeeper: LeaseKeeper;
  readonly #emit: (event: IdempotencyEvent) => void;
  #settled = false;

  constructor(init: ClaimGuardInit) {
    this.#init = init;
    this.#emit = contained(init.onEvent);
    this.key = init.key;
    this.fencingToken = init.fencingToken;
    this.#leaseKeeper = new LeaseKeeper(
      init.store,
      init.key,
      init.fencingToken,
      init.leaseTtlMs,
      init.claimedAt,
    );
  }

  /** Aborted when the claim is lost (lease expired or re-claimed); stop the side effect then. */
  get signal(): AbortSignal {
    return this.#leaseKeeper.signal;
  }

  /** Whether `complete`, `release` or `abandon` was called. */
  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Stores the response for replay and returns it.
   * @throws {@link idempotent!ClaimLostError} when the store rejects the completion (the claim was lost);
   *   the error carries the response.
   * @throws {@link idempotent!InvalidArgumentError} when `response` is not one a cache can hold (a status
   *   outside 200-599, say); the claim is then still unsettled, to release.
   */
  async complete(response: ResponseInput, options: CompleteOptions = {}): Promise<CachedResponse> {
    // Checked before settling: a response the cache cannot hold leaves the claim to release.
    const cached = CachedResponse.from(response);
    this.#settle("complete");
    try {
      await this.#store(cached, options.retentionTtlMs ?? this.#init.retentionTtlMs);
    } catch (error) {
      this.#report(error);
      throw error;
    }
    this.#emit({ kind: "executed", key: this.key, durationMs: Date.now() - this.#init.claimedAt });
    return cached;
  }

  /** Releases the claim without completing it; a retry then runs the side effect again. */
  async release(): Promise<void> {
    this.#settle("release");
    try {
      await this.#init.store.remove(this.key, this.fencingToken);
    } catch (error) {
      this.#report(error);
      throw error;
    }
    this.#emit({ kind: "released", key: this.key });
  }

  /**
   * Gives the claim up without completing or releasing it, when the outcome is unknown (the
   * side effect may have run but its response was lost, say a response torn down mid-way):
   * the lease is no longer extended, so the key stays claimed until it ends, then a retry runs.
   *
   * @example
   * ```ts
   * response.once("close", () => {
   *   if (!response.writableFinished) guard.abandon();
   * });
   * ```
   */
  abandon(): void {
    this.#settle("abandon");
  }

  /** Releases the claim unless it was completed or released. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#settled) await this.release();
  }

  async #store(cached: CachedResponse, retentionTtlMs: number): Promise<void> {
    const completed = this.#init.entry.complete(cached);
    for (let delayMs = 20; ; delayMs = Math.min(delayMs * 2, 1000)) {
      try {
        const outcome = await this.#init.store.complete(this.key, completed, this.fencingToken, {
          retentionTtlMs,
        });
        if (outcome.kind !== "applied") throw new ClaimLostError(outcome.kind, cached);
        return;
      } catch (error) {
        // The side effect ran: while the lease lasts the claim is still ours, so a transient
        // store failure is retried (stores treat a repeated completion as applied).
        const retryable = error instanceof StoreError && error.retryable;
        if (!retryable) throw error;
        if (Date.now() + delayMs >= this.#leaseKeeper.leaseEndsAt) {
          throw new ClaimLostError("key-expired", cached, { cause: error });
        }
        await delay(delayMs);
      }
    }
  }

  #report(error: unknown): void {
    if (error instanceof ClaimLostError) this.#emit({ kind: "claim-lost", key: this.key, error });
    else if (error instanceof StoreError) this.#emit({ kind: "store-error", key: this.key, error });
  }

  #settle(operation: string): void {
    if (this.#settled) {
      throw new InvalidArgumentError("guard", `${operation}: the claim is already settled`);
    }
    this.#settled = true;
    this.#leaseKeeper.stop();
  }
}
