import type { FencingToken } from "../core/fencing-token.ts";
import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { ClaimLostError } from "../errors/claim-lost-error.ts";

/**
 * Extends a claim's lease while its side effect runs: a touch every ttl/3, so two touches may
 * fail before the lease ends. Aborts `signal` as soon as the store reports the claim lost, or
 * when the lease ends without a successful touch (a store that hangs or keeps failing).
 */
export class LeaseKeeper {
  readonly #controller = new AbortController();
  readonly #store: IdempotencyStore;
  readonly #key: IdempotencyKey;
  readonly #fencingToken: FencingToken;
  readonly #leaseTtlMs: number;
  #touchTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #leaseEndsAt = 0;

  /** `claimedAt` is taken before the claim was sent, so the local lease never outlives the store's. */
  constructor(
    store: IdempotencyStore,
    key: IdempotencyKey,
    fencingToken: FencingToken,
    leaseTtlMs: number,
    claimedAt: number,
  ) {
    this.#store = store;
    this.#key = key;
    this.#fencingToken = fencingToken;
    this.#leaseTtlMs = leaseTtlMs;
    this.#armDeadline(claimedAt);
    this.#scheduleTouch();
  }

  /** Fires when the claim is lost; its `reason` is a {@link idempotent!ClaimLostError}. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** When the lease ends unless extended, by this process's clock (never later than the store's). */
  get leaseEndsAt(): number {
    return this.#leaseEndsAt;
  }

  /**
   * Stops extending; call before completing or releasing. A lease that already ran out (the
   * event loop was blocked past it, say) aborts the signal now, so the owner learns of it.
   */
  stop(): void {
    if (!this.#stopped && !this.#controller.signal.aborted && Date.now() >= this.#leaseEndsAt) {
      this.#controller.abort(new ClaimLostError("key-expired"));
    }
    this.#stopped = true;
    clearTimeout(this.#touchTimer);
    clearTimeout(this.#deadlineTimer);
  }

  #armDeadline(leaseStartedAt: number): void {
    clearTimeout(this.#deadlineTimer);
    this.#leaseEndsAt = leaseStartedAt + this.#leaseTtlMs;
    const remaining = Math.max(0, this.#leaseEndsAt - Date.now());
    this.#deadlineTimer = setTimeout(() => {
      this.#lose(new ClaimLostError("key-expired"));
    }, remaining);
    this.#deadlineTimer.unref();
  }

  #scheduleTouch(): void {
    if (this.#stopped) return;
    this.#touchTimer = setTimeout(
      () => {
        void this.#extend();
      },
      Math.max(1, Math.floor(this.#leaseTtlMs / 3)),
    );
    this.#touchTimer.unref();
  }

  async #extend(): Promise<void> {
    const startedAt = Date.now();
    try {
      const outcome = await this.#store.touch(this.#key, this.#fencingToken, {
        leaseTtlMs: this.#leaseTtlMs,
      });
      if (this.#stopped) return;
      if (outcome.kind !== "applied") {
        this.#lose(new ClaimLostError(outcome.kind));
        return;
      }
      this.#armDeadline(startedAt);
    } catch {
      // Not lost yet: the deadline timer decides if the lease runs out before a touch succeeds.
    }
    this.#scheduleTouch();
  }

  #lose(reason: ClaimLostError): void {
    if (this.#stopped) return;
    this.stop();
    this.#controller.abort(reason);
  }
}
