/**
 * The key in an `Idempotency-Key` header: the draft's structured-field string (`"abc"`, with
 * `\"` and `\\` escapes) or, leniently, a bare run of visible ASCII (no spaces, which a
 * proxy joining two fields would add). `undefined` when the value is neither.
 *
 * @example
 * ```ts
 * parseIdempotencyKeyHeader('"8e03978e-40d5-43e8-bc93-6894a57f9324"'); // the UUID
 * parseIdempotencyKeyHeader("order-1001"); // "order-1001"
 * parseIdempotencyKeyHeader('"unterminated'); // undefined
 * ```
 */
export function parseIdempotencyKeyHeader(value: string): string | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith('"')) return /^[\x21-\x7e]+$/.test(trimmed) ? trimmed : undefined;
  let key = "";
  for (let index = 1; index < trimmed.length; index++) {
    const character = trimmed[index] as string;
    if (character === "\\") {
      const escaped = trimmed[index + 1];
      if (escaped !== '"' && escaped !== "\\") return undefined;
      key += escaped;
      index++;
    } else if (character === '"') {
      return index === trimmed.length - 1 ? key : undefined;
    } else {
      // sf-string: printable ASCII only.
      const code = character.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) return undefined;
      key += character;
    }
  }
  return undefined;
}
