import { createHash } from "node:crypto";
import { IdempotencyKey, maxKeyBytes } from "../core/idempotency-key.ts";

/** The segment of unscoped keys; literal segments never contain `~`. */
const globalSegment = "~";
/** Scope segments longer than this are hashed, to leave room for the client's key. */
const maxLiteralScopeLength = 64;

/** Every character but `[A-Za-z0-9_.-]` becomes `%XX`, so literal segments never hold `~`. */
function escapeSegment(value: string): string | undefined {
  let escaped: string;
  try {
    escaped = encodeURIComponent(value);
  } catch {
    return undefined; // a lone surrogate: hash it
  }
  return escaped.replace(
    /[!'()*~]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function hashedSegment(value: string): string {
  return `~${createHash("sha256").update(value, "utf16le").digest("base64url")}`;
}

/**
 * The store key of a client's key within a caller's scope: `<scope>/<key>`, each segment escaped
 * so the mapping is injective (no two (scope, key) pairs share a store key), and a segment that
 * would not fit the 255-byte key limit replaced by a SHA-256 digest. `undefined` is the global
 * scope.
 *
 * @example
 * ```ts
 * scopedStoreKey("tenant-42", "order-1001").value; // "tenant-42/order-1001"
 * scopedStoreKey("a/b", "k:1").value; // "a%2Fb/k%3A1"
 * scopedStoreKey(undefined, "order-1001").value; // "~/order-1001"
 * ```
 */
export function scopedStoreKey(scope: string | undefined, key: string): IdempotencyKey {
  let scopeSegment: string;
  if (scope === undefined) {
    scopeSegment = globalSegment;
  } else {
    const escaped = escapeSegment(scope);
    scopeSegment =
      escaped === undefined || escaped.length > maxLiteralScopeLength || escaped.length === 0
        ? hashedSegment(scope)
        : escaped;
  }
  let keySegment = escapeSegment(key) ?? hashedSegment(key);
  // Both segments are ASCII now, so length is bytes.
  if (scopeSegment.length + 1 + keySegment.length > maxKeyBytes) keySegment = hashedSegment(key);
  return IdempotencyKey.parse(scopeSegment).scoped(keySegment);
}
