/** Why an `Idempotency-Key` header value was refused. */
export const keyHeaderErrors = [
  "empty",
  "unterminated-string",
  "invalid-escape",
  "invalid-character",
  "trailing-characters",
  "too-long",
] as const;

/** One of {@link keyHeaderErrors}. */
export type KeyHeaderError = (typeof keyHeaderErrors)[number];

/** The result of {@link parseKeyHeader}. */
export type ParsedKeyHeader =
  | { readonly kind: "key"; readonly key: string }
  | { readonly kind: "invalid"; readonly reason: KeyHeaderError; readonly message: string };

/** Longest accepted key, in characters (Stripe's limit); keys are printable ASCII. */
export const defaultMaxKeyLength = 255;

const invalid = (reason: KeyHeaderError, message: string): ParsedKeyHeader => ({
  kind: "invalid",
  reason,
  message,
});

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Parses an `Idempotency-Key` header value: the draft's Structured Field string (`"abc"`, with
 * the `\"` and `\\` escapes, printable ASCII inside) or a bare key (visible ASCII without `"`,
 * `\`, `,` or `;`, e.g. a UUID, a token or `order:42`). Surrounding spaces are ignored; `"abc"`
 * and `abc` are the same key. Parameters (`"abc";p=1`) and lists (`a, b`, what two headers
 * joined look like) are refused.
 *
 * @example
 * ```ts
 * parseKeyHeader('"8e03978e-40d5"'); // { kind: "key", key: "8e03978e-40d5" }
 * parseKeyHeader("8e03978e-40d5"); // the same key
 * parseKeyHeader('"a\\"b"'); // { kind: "key", key: 'a"b' }
 * parseKeyHeader("a, b").kind; // "invalid"
 * ```
 */
export function parseKeyHeader(
  value: string,
  maxLength: number = defaultMaxKeyLength,
): ParsedKeyHeader {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  if (start === end) return invalid("empty", "the Idempotency-Key header is empty");
  let key: string;
  if (value.charCodeAt(start) === 0x22) {
    // sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE
    let result = "";
    let index = start + 1;
    let closed = false;
    while (index < end) {
      const code = value.charCodeAt(index);
      if (code === 0x5c) {
        const next = value.charCodeAt(index + 1);
        if (index + 1 >= end || (next !== 0x22 && next !== 0x5c)) {
          return invalid("invalid-escape", 'only \\" and \\\\ may be escaped in a key string');
        }
        result += String.fromCharCode(next);
        index += 2;
        continue;
      }
      if (code === 0x22) {
        closed = true;
        index++;
        break;
      }
      if (code < 0x20 || code > 0x7e) {
        return invalid("invalid-character", "a key string holds printable ASCII only");
      }
      result += String.fromCharCode(code);
      index++;
    }
    if (!closed) return invalid("unterminated-string", "the key string has no closing quote");
    if (index !== end) {
      return invalid("trailing-characters", "nothing may follow the key string");
    }
    if (result.length === 0) return invalid("empty", "the key string is empty");
    key = result;
  } else {
    for (let index = start; index < end; index++) {
      const code = value.charCodeAt(index);
      // Visible ASCII except DQUOTE, backslash, comma (list) and semicolon (parameters).
      if (code < 0x21 || code > 0x7e || code === 0x22 || code === 0x5c || code === 0x2c || code === 0x3b) {
        return invalid(
          "invalid-character",
          'a bare key holds visible ASCII without ", \\, "," or ";" (quote it as a string)',
        );
      }
    }
    key = value.slice(start, end);
  }
  if (key.length > maxLength) {
    return invalid("too-long", `the key is longer than ${maxLength} characters`);
  }
  return { kind: "key", key };
}
