export {
  MemoryStore,
  defaultMaxBytes,
  defaultMaxEntries,
  type MemoryStoreOptions,
} from "./memory-store.ts";
export { recordBytes } from "./record-size.ts";
