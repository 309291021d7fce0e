export { meterEvents, metricNames, type MeterEventsOptions } from "./meter-events.ts";
export { traceStore, tracingAttributes, type TraceStoreOptions } from "./traced-store.ts";
