export { traceStore, tracingAttributes, type TraceStoreOptions } from "./traced-store.ts";
