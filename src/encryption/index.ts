export { encryptStore, type EncryptionKey, type EncryptStoreOptions } from "./encrypt-store.ts";
