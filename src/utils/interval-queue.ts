import type { TimerHandle, Timers } from "./timers.ts";

/**
 * Something an {@link IntervalQueue} calls back once its interval has passed. It is its own
 * list node, so scheduling and cancelling allocate nothing.
 *
 * @example
 * ```ts
 * class Reminder extends IntervalQueueEntry {
 *   fire(): void {
 *     console.log("an interval has passed");
 *   }
 * }
 * ```
 */
export abstract class IntervalQueueEntry {
  /** @internal When the entry is due, by its queue's clock. */
  dueAt = 0;
  /** @internal */
  previous: IntervalQueueEntry | undefined = undefined;
  /** @internal */
  next: IntervalQueueEntry | undefined = undefined;
  /** @internal Whether the entry is waiting in a queue. */
  queued = false;

  /** Called once the interval has passed since the entry was scheduled. */
  abstract fire(): void;
}

/**
 * Entries that fire a fixed interval after they were scheduled, on one background timer for
 * the whole queue: every entry waits the same interval, so the list is in due order by
 * construction, scheduling appends and cancelling unlinks, both O(1) and without a timer of
 * their own. An entry cancelled before it is due costs no timer at all.
 *
 * @example
 * ```ts
 * const queue = new IntervalQueue(10_000, systemTimers);
 * queue.schedule(reminder); // reminder.fire() in 10 s
 * queue.cancel(reminder);
 * ```
 */
export class IntervalQueue {
  readonly intervalMs: number;
  readonly #timers: Timers;
  #head: IntervalQueueEntry | undefined;
  #tail: IntervalQueueEntry | undefined;
  #timer: TimerHandle = undefined;
  #firing = false;

  constructor(intervalMs: number, timers: Timers) {
    this.intervalMs = intervalMs;
    this.#timers = timers;
  }

  /** Whether no entry is waiting. */
  get empty(): boolean {
    return this.#head === undefined;
  }

  /** Calls `entry.fire()` one interval from now; an entry already waiting is moved to the end. */
  schedule(entry: IntervalQueueEntry): void {
    if (entry.queued) this.cancel(entry);
    entry.dueAt = this.#timers.now() + this.intervalMs;
    entry.queued = true;
    entry.previous = this.#tail;
    entry.next = undefined;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    // An armed timer fires no later than the head is due, and so no later than this entry.
    if (this.#timer === undefined && !this.#firing) this.#arm(this.intervalMs);
  }

  /** Takes `entry` out of the queue if it waits there; the timer is left to find it gone. */
  cancel(entry: IntervalQueueEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    if (entry.previous === undefined) this.#head = entry.next;
    else entry.previous.next = entry.next;
    if (entry.next === undefined) this.#tail = entry.previous;
    else entry.next.previous = entry.previous;
    entry.previous = undefined;
    entry.next = undefined;
  }

  #arm(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#fire();
    }, ms);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#firing = true;
    const now = this.#timers.now();
    try {
      for (let head = this.#head; head !== undefined; head = this.#head) {
        // Due more than an interval ahead: the clock went back, and waiting for it could take
        // any time, so it is due now.
        const wait = head.dueAt - now;
        if (wait > 0 && wait <= this.intervalMs) break;
        this.cancel(head);
        head.fire();
      }
    } finally {
      // Armed for the head here, also when an entry's callback threw, so the rest still fire.
      this.#firing = false;
      const head = this.#head;
      if (head !== undefined) this.#arm(Math.min(Math.max(head.dueAt - now, 1), this.intervalMs));
    }
  }
}
