// Every fault scenario reports the same figures; soak runs collect them into a table.
import { appendFileSync } from "node:fs";

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
