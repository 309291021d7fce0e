// Every fault scenario reports the same figures; soak runs collect them into a table.
import { appendFileSync } from "node:fs";
import type { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import type { Idempotency } from "../../src/execution/idempotency.ts";

export interface ScenarioReport {
  readonly scenario: string;
  readonly operations: number;
  readonly faults: number;
  readonly duplicates: number;
  readonly lost: number | "not promised";
  readonly note?: string;
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

  /** Executions beyond the first, over all keys. */
  get duplicates(): number {
    let duplicates = 0;
    for (const count of this.#counts.values()) duplicates += Math.max(0, count - 1);
    return duplicates;
  }
}

/**
 * A scenario's calls to `execute`: the side effect records itself in `log`, every answered
 * response is kept per key, and a later answer that differs counts as `changed`. Store errors
 * and lost claims are counted, anything else is thrown.
 */
export class ScenarioWorkload {
  readonly log: ExecutionLog = new ExecutionLog();
  readonly acknowledged: Map<string, string> = new Map();
  operations = 0;
  changed = 0;
  storeErrors = 0;
  claimsLost = 0;
  readonly #operation: string;

  constructor(operation: string) {
    this.#operation = operation;
  }

  async attempt(idempotency: Idempotency, key: IdempotencyKey, waitMs: number): Promise<void> {
    this.operations++;
    try {
      const outcome = await idempotency.execute(
        key,
        { operation: this.#operation },
        () => {
          this.log.record(key.value);
          return `run ${this.log.count(key.value)} of ${key.value}`;
        },
        { waitMs },
      );
      if (outcome.kind === "executed" || outcome.kind === "replayed") {
        const body = outcome.response.text();
        const earlier = this.acknowledged.get(key.value);
        if (earlier !== undefined && earlier !== body) this.changed++;
        this.acknowledged.set(key.value, body);
      }
    } catch (error) {
      if (error instanceof ClaimLostError) this.claimsLost++;
      else if (error instanceof StoreError) this.storeErrors++;
      else throw error;
    }
  }
}
