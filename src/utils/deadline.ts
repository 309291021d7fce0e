import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { IntervalQueue, IntervalQueueEntry } from "./interval-queue.ts";
import { systemTimers, type Timers } from "./timers.ts";

/** Node.js timers fire at once for delays past 2^31 - 1 ms, so longer deadlines are refused. */
const maxTimerMs = 2_147_483_647;

/**
 * One queue per deadline length: every call with the same `timeoutMs` is due in the order it
 * started, so one background timer serves them all and a call that settles in time costs no
 * timer of its own. A process uses a handful of lengths (its stores' options).
 */
const queues = new Map<number, IntervalQueue>();

// A monotonic clock: a wall clock stepped back or forward must not time out calls in flight.
const monotonicTimers: Timers = { ...systemTimers, now: () => performance.now() };

function queueFor(timeoutMs: number): IntervalQueue {
  let queue = queues.get(timeoutMs);
  if (queue === undefined) {
    queue = new IntervalQueue(timeoutMs, monotonicTimers);
    queues.set(timeoutMs, queue);
  }
  return queue;
}

/**
 * The deadline of one `withDeadline` call, as its work sees it.
 *
 * @example
 * ```ts
 * await withDeadline(2000, (deadline) => client.send(["PING"], deadline.signal), onTimeout);
 * ```
 */
export interface Deadline {
  /**
   * Aborted when the deadline passes, with the `onTimeout()` error as its reason. Made on first
   * read: work that cannot withdraw a command should not read it, and then costs no
   * `AbortController`.
   */
  readonly signal: AbortSignal;
  /** Whether the deadline has passed (the call has rejected already). */
  readonly expired: boolean;
}

class PendingDeadline<T> extends IntervalQueueEntry implements Deadline {
  readonly #queue: IntervalQueue;
  readonly #onTimeout: () => Error;
  // Set by the promise's executor, which runs before the constructor returns.
  #resolve: (value: T) => void = ignore;
  #reject: (error: unknown) => void = ignore;
  #controller: AbortController | undefined;
  #reason: Error | undefined;
  /** The call's result: settled by the work, or rejected by the deadline, whichever is first. */
  readonly promise: Promise<T>;

  constructor(queue: IntervalQueue, onTimeout: () => Error) {
    super();
    this.#queue = queue;
    this.#onTimeout = onTimeout;
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get expired(): boolean {
    return this.#reason !== undefined;
  }

  // Settling a settled promise does nothing: whichever of work and deadline comes first wins.
  settle(value: T): void {
    this.#queue.cancel(this);
    this.#resolve(value);
  }

  /** The work's own rejection is passed on as it is, like `await` would. */
  fail(error: unknown): void {
    this.#queue.cancel(this);
    this.#reject(error);
  }

  fire(): void {
    const error = this.#onTimeout();
    this.#reason = error;
    this.#controller?.abort(error);
    this.#reject(error);
  }
}

function ignore(): void {
  // Replaced by the promise's executor before any use.
}

/**
 * Runs `work` with a deadline. When `timeoutMs` passes first, the returned promise rejects with
 * `onTimeout()` and the deadline's signal is aborted, so work that reads it sends nothing more
 * and a client that honours it drops a command it has not written yet. A reply that arrives
 * after the deadline is ignored, a late rejection included (it never becomes an unhandled
 * rejection). Deadlines never keep the process alive. When `work` fails (rejects or throws),
 * `recover`, if given, gets its error and makes the result instead, within the same deadline
 * (a retry, a fallback, or the error mapped); what `recover` throws is the call's error.
 *
 * @example
 * ```ts
 * const reply = await withDeadline(
 *   2000,
 *   (deadline) => connection.command(["PING"], deadline.signal),
 *   () => new Error("no reply within 2000 ms"),
 * );
 * ```
 */
export function withDeadline<T>(
  timeoutMs: number,
  work: (deadline: Deadline) => Promise<T>,
  onTimeout: () => Error,
  recover?: (error: unknown, deadline: Deadline) => Promise<T>,
): Promise<T> {
  const queue = queueFor(Math.min(timeoutMs, maxTimerMs));
  const deadline = new PendingDeadline<T>(queue, onTimeout);
  queue.schedule(deadline);
  // Per call: one entry, one promise and the callbacks below; no named closure (a bundler that
  // keeps function names would define a property on each), and no async function wrapping the
  // work only to catch its failure.
  run(deadline, work, recover);
  return deadline.promise;
}

function run<T>(
  deadline: PendingDeadline<T>,
  work: (deadline: Deadline) => Promise<T>,
  recover: ((error: unknown, deadline: Deadline) => Promise<T>) | undefined,
): void {
  try {
    work(deadline).then(
      (value) => {
        deadline.settle(value);
      },
      (error: unknown) => {
        failed(deadline, error, recover);
      },
    );
  } catch (error) {
    failed(deadline, error, recover);
  }
}

function failed<T>(
  deadline: PendingDeadline<T>,
  error: unknown,
  recover: ((error: unknown, deadline: Deadline) => Promise<T>) | undefined,
): void {
  if (recover === undefined) deadline.fail(error);
  else run(deadline, (again) => recover(error, again), undefined);
}

/**
 * Checks a deadline option: a positive integer of milliseconds that a timer can hold.
 *
 * @example
 * ```ts
 * const timeoutMs = validateDeadlineMs(options.operationTimeoutMs ?? 2000, "operationTimeoutMs");
 * ```
 */
export function validateDeadlineMs(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1 || value > maxTimerMs) {
    throw new InvalidArgumentError(argument, `expected a positive integer up to ${maxTimerMs}`);
  }
  return value;
}
