import { metrics, type Meter } from "@opentelemetry/api";
import type { IdempotencyEvent } from "../execution/idempotency-event.ts";

/** Options of {@link meterEvents}. */
export interface MeterEventsOptions {
  /** Meter to use; `metrics.getMeter("idempotent")` from the global provider by default. */
  readonly meter?: Meter;
  /** Recorded as `idempotency.operation`, e.g. `"POST /payments"`; none by default. */
  readonly operation?: string;
}

/** Metric names, defined once. */
export const metricNames = {
  outcomes: "idempotency.outcomes",
  executionDuration: "idempotency.execution.duration",
  storeDuration: "idempotency.store.operation.duration",
} as const;

/**
 * An `onEvent` listener that counts outcomes in OpenTelemetry metrics:
 * `idempotency.outcomes` (a counter, attribute `idempotency.outcome` = the event's kind, and
 * `error.type` for store errors) and `idempotency.execution.duration` (a histogram in seconds,
 * from claim to stored completion). Replays and executions are told apart, as business
 * metrics need. Needs the optional peer dependency `@opentelemetry/api`.
 *
 * @example
 * ```ts
 * import { meterEvents } from "idempotent/tracing";
 *
 * const idempotency = new Idempotency({ store, onEvent: meterEvents({ operation: "charge" }) });
 * ```
 */
export function meterEvents(options: MeterEventsOptions = {}): (event: IdempotencyEvent) => void {
  const meter = options.meter ?? metrics.getMeter("idempotent");
  const outcomes = meter.createCounter(metricNames.outcomes, {
    description: "Calls by outcome: executed, replayed, in-flight, fingerprint-mismatch, …",
  });
  const duration = meter.createHistogram(metricNames.executionDuration, {
    description: "From a won claim to its stored completion",
    unit: "s",
  });
  const base =
    options.operation === undefined ? {} : { "idempotency.operation": options.operation };
  return (event) => {
    outcomes.add(1, {
      ...base,
      "idempotency.outcome": event.kind,
      ...(event.kind === "store-error" ? { "error.type": event.error.kind } : {}),
    });
    if (event.kind === "executed") duration.record(event.durationMs / 1000, base);
  };
}
