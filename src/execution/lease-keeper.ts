import type { FencingToken } from "../core/fencing-token.ts";
import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { ClaimLostError } from "../errors/claim-lost-error.ts";
import { IntervalQueue, IntervalQueueEntry } from "../utils/interval-queue.ts";
import { systemTimers, type TimerHandle, type Timers } from "../utils/timers.ts";

// One queue per touch interval and timer source, shared by every claim: a claim settled
// before a third of its lease has passed never arms a timer of its own.
const queues = new WeakMap<Timers, Map<number, IntervalQueue>>();
let lastQueue: { timers: Timers; queue: IntervalQueue } | undefined;

function touchQueue(timers: Timers, intervalMs: number): IntervalQueue {
  if (lastQueue?.timers === timers && lastQueue.queue.intervalMs === intervalMs) {
    return lastQueue.queue;
  }
  let byInterval = queues.get(timers);
  if (byInterval === undefined) {
    byInterval = new Map();
    queues.set(timers, byInterval);
  }
  let queue = byInterval.get(intervalMs);
  if (queue === undefined) {
    queue = new IntervalQueue(intervalMs, timers);
    byInterval.set(intervalMs, queue);
  }
  lastQueue = { timers, queue };
  return queue;
}

/**
 * Extends a claim's lease while its side effect runs: a touch every ttl/3, so two touches may
 * fail before the lease ends. Aborts `signal` as soon as the store reports the claim lost, or
 * when the lease ends without a successful touch (a store that hangs or keeps failing).
 *
 * Built for claims that mostly settle quickly: the touches of every claim with the same lease
 * share one timer, the deadline gets a timer of its own only once the first touch is due, and
 * the `AbortController` is made only when `signal` is read.
 */
export class LeaseKeeper extends IntervalQueueEntry {
  readonly #store: IdempotencyStore;
  readonly #key: IdempotencyKey;
  readonly #fencingToken: FencingToken;
  readonly #leaseTtlMs: number;
  readonly #timers: Timers;
  readonly #touches: IntervalQueue;
  #controller: AbortController | undefined;
  /** Why the claim was lost, once it was. */
  #lost: ClaimLostError | undefined;
  #deadlineTimer: TimerHandle = undefined;
  #stopped = false;
  #leaseEndsAt: number;

  /** `claimedAt` is taken before the claim was sent, so the local lease never outlives the store's. */
  constructor(
    store: IdempotencyStore,
    key: IdempotencyKey,
    fencingToken: FencingToken,
    leaseTtlMs: number,
    claimedAt: number,
    timers: Timers = systemTimers,
  ) {
    super();
    this.#store = store;
    this.#key = key;
    this.#fencingToken = fencingToken;
    this.#leaseTtlMs = leaseTtlMs;
    this.#timers = timers;
    this.#leaseEndsAt = claimedAt + leaseTtlMs;
    this.#touches = touchQueue(timers, Math.max(1, Math.floor(leaseTtlMs / 3)));
    this.#touches.schedule(this);
  }

  /** Fires when the claim is lost; its `reason` is a {@link idempotent!ClaimLostError}. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#lost !== undefined) this.#controller.abort(this.#lost);
    }
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
    if (!this.#stopped && this.#lost === undefined && this.#timers.now() >= this.#leaseEndsAt) {
      this.#abort(new ClaimLostError("key-expired"));
    }
    this.#stopped = true;
    this.#touches.cancel(this);
    if (this.#deadlineTimer !== undefined) {
      this.#timers.clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
  }

  /** @internal Called by the touch queue a third of the lease after the claim or last touch. */
  fire(): void {
    // The event loop was blocked past the lease's end: lost, not extended.
    if (this.#timers.now() >= this.#leaseEndsAt) {
      this.#lose(new ClaimLostError("key-expired"));
      return;
    }
    // Until now the lease's end was further off than this touch; from here on a touch may
    // hang or fail, so the deadline needs a timer.
    if (this.#deadlineTimer === undefined) this.#armDeadline();
    void this.#extend();
  }

  #armDeadline(): void {
    if (this.#deadlineTimer !== undefined) this.#timers.clearTimeout(this.#deadlineTimer);
    const remaining = Math.max(0, this.#leaseEndsAt - this.#timers.now());
    this.#deadlineTimer = this.#timers.setTimeout(() => {
      this.#lose(new ClaimLostError("key-expired"));
    }, remaining);
  }

  async #extend(): Promise<void> {
    const startedAt = this.#timers.now();
    try {
      const outcome = await this.#store.touch(this.#key, this.#fencingToken, {
        leaseTtlMs: this.#leaseTtlMs,
      });
      if (this.#stopped) return;
      if (outcome.kind !== "applied") {
        this.#lose(new ClaimLostError(outcome.kind));
        return;
      }
      this.#leaseEndsAt = startedAt + this.#leaseTtlMs;
      this.#armDeadline();
    } catch {
      // Not lost yet: the deadline timer decides if the lease runs out before a touch succeeds.
    }
    if (!this.#stopped) this.#touches.schedule(this);
  }

  #lose(reason: ClaimLostError): void {
    if (this.#stopped) return;
    this.stop();
    if (this.#lost === undefined) this.#abort(reason);
  }

  #abort(reason: ClaimLostError): void {
    this.#lost = reason;
    this.#controller?.abort(reason);
  }
}
