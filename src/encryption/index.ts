/**
 * Encryption at rest: `encryptStore` seals every cached response with AES-256-GCM.
 *
 * @module idempotent/encryption
 */
export { encryptStore, type EncryptionKey, type EncryptStoreOptions } from "./encrypt-store.ts";
