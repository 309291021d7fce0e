/**
 * OpenTelemetry spans for every store operation and metrics from `Idempotency` events.
 *
 * @module idempotent/tracing
 */
export { meterEvents, metricNames, type MeterEventsOptions } from "./meter-events.ts";
export { traceStore, tracingAttributes, type TraceStoreOptions } from "./traced-store.ts";
