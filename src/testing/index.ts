/**
 * The conformance suite every store passes, to run (with vitest) against your own store.
 *
 * @module idempotent/testing
 */
export { runStoreConformance, type StoreConformanceOptions } from "./store-conformance.ts";
