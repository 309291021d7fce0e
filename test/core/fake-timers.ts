// Timers that move only when a test says so, for lease keeping without waiting.
import type { TimerHandle, Timers } from "../../src/utils/timers.ts";

interface Pending {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
}

/** Lets pending promise callbacks (a store's reply, an `await`) run. */
export async function settlePromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export class FakeTimers implements Timers {
  /** Time as timers see it: it only moves forward. */
  #now: number;
  /** What the wall clock is off from it (a clock set back, say). */
  #offset = 0;
  #order = 0;
  readonly #pending = new Set<Pending>();
  /** Every timer ever set, with the delay it was set for. */
  readonly set: number[] = [];

  constructor(now = 1_700_000_000_000) {
    this.#now = now;
  }

  now(): number {
    return this.#now + this.#offset;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const pending = { at: this.#now + ms, order: this.#order++, callback };
    this.#pending.add(pending);
    this.set.push(ms);
    return pending;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle as Pending);
  }

  delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Moves time without firing anything, as an event loop blocked that long would. */
  jump(ms: number): void {
    this.#now += ms;
  }

  /** Sets the wall clock `ms` off; timers keep their time, as Node.js timers do. */
  shiftClock(ms: number): void {
    this.#offset += ms;
  }

  /** Moves the clock by `ms`, firing each timer due on the way at its time, in order. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settlePromises();
      let next: Pending | undefined;
      for (const pending of this.#pending) {
        if (pending.at > until) continue;
        if (
          next === undefined ||
          pending.at < next.at ||
          (pending.at === next.at && pending.order < next.order)
        ) {
          next = pending;
        }
      }
      if (next === undefined) break;
      this.#pending.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = until;
    await settlePromises();
  }
}
