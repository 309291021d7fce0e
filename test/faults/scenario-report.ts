// Every fault scenario reports the same figures; soak runs collect them into a table. Every
// figure is counted during the run; a figure that does not apply says so instead of being 0.
import { appendFileSync } from "node:fs";
import type { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import type { Idempotency } from "../../src/execution/idempotency.ts";

/** A figure that does not apply to a scenario, and why. */
export interface NotApplicable {
  readonly notApplicable: string;
}

/** A count that the scenario's configuration does not promise to keep at 0. */
export interface NotPromised {
  readonly notPromised: number;
}

/** A counted figure, or the words shown in its place. */
export type Figure = number | NotApplicable | NotPromised;

export function notApplicable(why: string): NotApplicable {
  return { notApplicable: why };
}

export function notPromised(count: number): NotPromised {
  return { notPromised: count };
}

/** Faults that hit the workload, counted by kind. */
export type FaultCounts = Readonly<Record<string, number>>;

export interface ScenarioReport {
  readonly scenario: string;
  /** Calls made: `execute` calls, store operations or HTTP requests, counted. */
  readonly operations: number;
  /** Faults that hit the workload, by kind, as measured; n/a when none is injected. */
  readonly faults: FaultCounts | NotApplicable;
  /** Side-effect runs beyond the first per key, counted by the side effect itself. */
  readonly duplicates: Figure;
  /** Duplicates of a key not paired with an announcement for that key (see ScenarioWorkload). */
  readonly silent: Figure;
  /** Acknowledged responses that later replayed differently or not at all. */
  readonly lost: Figure;
  readonly note?: string;
}

/** How a figure reads in a report. */
export function formatFigure(figure: Figure): string {
  if (typeof figure === "number") return String(figure);
  if ("notApplicable" in figure) return `n/a (${figure.notApplicable})`;
  return `${figure.notPromised} (not promised)`;
}

/** How fault counts read in a report: `kind count, kind count`. */
export function formatFaults(faults: FaultCounts | NotApplicable): string {
  if ("notApplicable" in faults && typeof faults.notApplicable === "string") {
    return `n/a (${faults.notApplicable})`;
  }
  return Object.entries(faults as FaultCounts)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
}

/** The fault kinds of `faults` counted fewer than `minimum` times (all of `kinds` must occur). */
export function faultsBelow(
  faults: FaultCounts,
  kinds: readonly string[],
  minimum: number,
): Record<string, number> {
  return Object.fromEntries(
    kinds.map((kind) => [kind, faults[kind] ?? 0] as const).filter(([, count]) => count < minimum),
  );
}

/** How long each scenario's workload runs: short in CI, `npm run soak -- --minutes N` longer. */
export function workloadMs(ciMs: number): number {
  const soak = Number(process.env["IDEMPOTENT_SOAK_MS"] ?? 0);
  return soak > 0 ? soak : ciMs;
}

/** A test timeout that grows with the soak duration. */
export function scenarioTimeoutMs(): number {
  return 180_000 + 8 * Number(process.env["IDEMPOTENT_SOAK_MS"] ?? 0);
}

/** Prints a report and appends it to IDEMPOTENT_SOAK_REPORT (a JSON-lines file) when set. */
export function report(result: ScenarioReport): void {
  console.info(`[fault] ${JSON.stringify(result)}`);
  const file = process.env["IDEMPOTENT_SOAK_REPORT"];
  if (file !== undefined) appendFileSync(file, `${JSON.stringify(result)}\n`);
}

/** Side-effect executions per key, counted by the side effect itself. */
export class ExecutionLog {
  readonly #counts = new Map<string, number>();

  record(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  get keys(): number {
    return this.#counts.size;
  }

  /** Keys and their execution counts. */
  entries(): IterableIterator<[string, number]> {
    return this.#counts.entries();
  }

  /** Executions beyond the first, over all keys. */
  get duplicates(): number {
    let duplicates = 0;
    for (const count of this.#counts.values()) duplicates += Math.max(0, count - 1);
    return duplicates;
  }
}

/** Runs `task` over `items` with at most `concurrency` at a time. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

/** What one attempt ended with. */
export type AttemptResult =
  "executed" | "replayed" | "in-flight" | "fingerprint-mismatch" | "claim-lost" | "store-error";

/**
 * A scenario's calls to `execute`: the side effect records itself in `log`, every answered
 * response is kept per key, and a key whose later answer differs counts as `lost`. Store errors
 * and lost claims are counted, anything else is thrown.
 *
 * Duplicates are paired per key: a run of the side effect is *announced* when its call ended
 * in a `ClaimLostError` or an ambiguous `StoreError` (the caller was told its run may not have
 * been recorded). A key run `n` times with `a` announced runs has `max(0, n - 1 - a)` silent
 * duplicates: at most one run per key may have been acknowledged as the one that counts.
 */
export class ScenarioWorkload {
  readonly log: ExecutionLog = new ExecutionLog();
  readonly acknowledged: Map<string, string> = new Map();
  operations = 0;
  storeErrors = 0;
  ambiguousStoreErrors = 0;
  claimsLost = 0;
  /** Lost claims by why: the store's answer to the completion, or its silence for a lease. */
  readonly claimsLostBy: Record<string, number> = {};
  readonly #announced = new Map<string, number>();
  readonly #lostKeys = new Set<string>();
  readonly #keys = new Map<string, IdempotencyKey>();
  readonly #operation: string;
  readonly #sideEffect: () => Promise<void> | void;
  #inFlight = 0;

  constructor(operation: string, sideEffect: () => Promise<void> | void = () => undefined) {
    this.#operation = operation;
    this.#sideEffect = sideEffect;
  }

  /** Attempts in progress now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Keys with an acknowledged response that a later answer changed or did not replay. */
  get lost(): number {
    return this.#lostKeys.size;
  }

  /** The keys counted in `lost`. */
  lostKeys(): ReadonlySet<string> {
    return this.#lostKeys;
  }

  /** Runs of `key` whose call ended in a ClaimLostError or an ambiguous StoreError. */
  announced(key: string): number {
    return this.#announced.get(key) ?? 0;
  }

  /** `n claims lost (why n, ...)`, for a report's note. */
  claimsLostNote(): string {
    const reasons = Object.entries(this.claimsLostBy).map(([why, count]) => `${why}: ${count}`);
    return `${this.claimsLost} claims lost${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`;
  }

  /** Keys run more often than once plus their announced runs, with the excess. */
  silentByKey(): Map<string, number> {
    const silent = new Map<string, number>();
    for (const [key, count] of this.log.entries()) {
      const excess = count - 1 - this.announced(key);
      if (excess > 0) silent.set(key, excess);
    }
    return silent;
  }

  /** Duplicates not paired with an announcement for their own key. */
  get silentDuplicates(): number {
    let total = 0;
    for (const excess of this.silentByKey().values()) total += excess;
    return total;
  }

  async attempt(
    idempotency: Idempotency,
    key: IdempotencyKey,
    waitMs: number,
  ): Promise<AttemptResult> {
    this.operations++;
    this.#inFlight++;
    this.#keys.set(key.value, key);
    const run = { ran: false };
    try {
      const outcome = await idempotency.execute(
        key,
        { operation: this.#operation },
        async () => {
          run.ran = true;
          this.log.record(key.value);
          const body = `run ${this.log.count(key.value)} of ${key.value}`;
          await this.#sideEffect();
          return body;
        },
        { waitMs },
      );
      if (outcome.kind === "executed" || outcome.kind === "replayed") {
        const body = outcome.response.text();
        const earlier = this.acknowledged.get(key.value);
        if (earlier !== undefined && earlier !== body) this.#lostKeys.add(key.value);
        if (earlier === undefined) this.acknowledged.set(key.value, body);
      }
      return outcome.kind;
    } catch (error) {
      if (error instanceof ClaimLostError) {
        this.claimsLost++;
        const why =
          error.cause === undefined
            ? `the store answered ${error.outcome}`
            : "the store failed until the lease ended";
        this.claimsLostBy[why] = (this.claimsLostBy[why] ?? 0) + 1;
        if (run.ran) this.#announce(key.value);
        return "claim-lost";
      }
      if (error instanceof StoreError) {
        this.storeErrors++;
        if (error.ambiguous) this.ambiguousStoreErrors++;
        if (run.ran && error.ambiguous) this.#announce(key.value);
        return "store-error";
      }
      throw error;
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * Asks for every acknowledged key once more, `concurrency` at a time: an answer that differs
   * from the first acknowledged one (a new run, say) counts the key as lost. Returns how many
   * keys got no answer to compare (a store error, say).
   */
  async verify(idempotency: Idempotency, waitMs: number, concurrency = 16): Promise<number> {
    let unverified = 0;
    const keys = [...this.acknowledged.keys()].map((value) => this.#keys.get(value));
    await forEachBounded(keys, concurrency, async (key) => {
      if (key === undefined) return;
      const result = await this.attempt(idempotency, key, waitMs);
      if (result !== "replayed" && result !== "executed") unverified++;
    });
    return unverified;
  }

  #announce(key: string): void {
    this.#announced.set(key, (this.#announced.get(key) ?? 0) + 1);
  }
}

/** Calls by operation, and StoreErrors by operation and ambiguity. */
export interface StoreCallCounts {
  readonly calls: Record<string, number>;
  readonly errors: Record<string, number>;
}

/**
 * The same store, counting (into `counts`, when given) its calls by operation, and the `StoreError`s they reject with, by
 * operation and whether they were ambiguous (`complete (ambiguous)`). Retried calls count each
 * time.
 */
export function countStoreCalls<S extends object>(
  store: S,
  counts: StoreCallCounts = { calls: {}, errors: {} },
): StoreCallCounts & { store: S } {
  const { calls, errors } = counts;
  const counted = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const operation = String(property);
        calls[operation] = (calls[operation] ?? 0) + 1;
        try {
          return await (value as (...args: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          if (error instanceof StoreError) {
            const kind = `${operation}${error.ambiguous ? " (ambiguous)" : ""}`;
            errors[kind] = (errors[kind] ?? 0) + 1;
          }
          throw error;
        }
      };
    },
  });
  return { store: counted, calls, errors };
}

/** The total of a record of counts. */
export function total(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}
