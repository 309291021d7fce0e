/**
 * The in-memory store: one process, bounded by entries and bytes.
 *
 * @module idempotent/memory
 */
export {
  MemoryStore,
  defaultMaxBytes,
  defaultMaxEntries,
  type MemoryStoreOptions,
} from "./memory-store.ts";
export { recordBytes } from "./record-size.ts";
