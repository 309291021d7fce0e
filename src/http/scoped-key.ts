import { hash } from "node:crypto";
import { IdempotencyKey, maxKeyBytes } from "../core/idempotency-key.ts";

/**
 * Checks a client's key (already unwrapped from the header) against the HTTP rules: 1 to 255
 * printable ASCII characters, any of them, `:` and `/` included. Returns why it is refused, or
 * `undefined` when it is fine.
 *
 * @example
 * ```ts
 * clientKeyProblem("order:123"); // undefined
 * clientKeyProblem(""); // "the key is empty"
 * ```
 */
export function clientKeyProblem(key: string): string | undefined {
  if (key.length === 0) return "the key is empty";
  if (key.length > maxKeyBytes) return `the key is longer than ${maxKeyBytes} characters`;
  if (!/^[\x20-\x7e]+$/.test(key)) return "the key has characters outside printable ASCII";
  return undefined;
}

/**
 * The stored key for a client's key under a caller's scope (`null` for the global key space):
 * `h1.` and the base64url SHA-256 of both, 46 characters whatever their lengths. So the client
 * keeps its whole key budget, any character of its key is fine (our separators are escaped by
 * the hash), callers never share a key, and no caller identity (an API key, say) reaches the
 * store.
 *
 * @example
 * ```ts
 * scopedKey("acme", "order:123").value; // "h1.…" (46 characters)
 * ```
 */
export function scopedKey(scope: string | null, key: string): IdempotencyKey {
  // JSON keeps the two parts apart: no scope/key pair encodes like another. The one-shot hash
  // costs half of a Hash object's, on every guarded request.
  const digest = hash("sha256", JSON.stringify([scope, key]), "base64url");
  return IdempotencyKey.parse(`h1.${digest}`);
}
