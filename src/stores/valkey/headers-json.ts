import type { HeaderPairs } from "../../core/cached-response.ts";

// Printable ASCII but `"` and `\`: a JSON string of these is the characters between quotes.
const plainText = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The byte at `index`, or -1 past `end`. */
function byteAt(record: Buffer, index: number, end: number): number {
  return index < end ? (record[index] ?? -1) : -1;
}

function isPlainByte(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e && byte !== 0x22 && byte !== 0x5c;
}

/**
 * `JSON.stringify(headers)`, the same text, written directly when every name and value is
 * plain printable ASCII (as headers mostly are), which is several times faster; anything else
 * goes through `JSON.stringify`.
 *
 * @example
 * ```ts
 * encodeHeaders([["content-type", "application/json"]]); // '[["content-type","application/json"]]'
 * ```
 */
export function encodeHeaders(headers: HeaderPairs): string {
  if (!Array.isArray(headers)) return JSON.stringify(headers);
  let json = "[";
  for (let index = 0; index < headers.length; index++) {
    const pair: unknown = headers[index];
    if (!Array.isArray(pair) || pair.length !== 2) return JSON.stringify(headers);
    const [name, value] = pair as unknown[];
    if (typeof name !== "string" || typeof value !== "string") return JSON.stringify(headers);
    if (!plainText.test(name) || !plainText.test(value)) return JSON.stringify(headers);
    json += `${index === 0 ? "" : ","}["${name}","${value}"]`;
  }
  return `${json}]`;
}

/**
 * `JSON.parse` of the UTF-8 text at `record[start, end)`, the same value, read directly from the
 * bytes when they are exactly `[["name","value"],...]` of plain printable ASCII strings (what
 * {@link encodeHeaders} writes for such headers); any other text, malformed text included, goes
 * through `JSON.parse`, which throws as it would.
 *
 * @example
 * ```ts
 * decodeHeaders(Buffer.from('[["vary","accept"]]'), 0, 19); // [["vary", "accept"]]
 * ```
 */
export function decodeHeaders(record: Buffer, start: number, end: number): unknown {
  const pairs: [string, string][] = [];
  let at = start + 1;
  if (byteAt(record, start, end) !== 0x5b /* [ */) return parsed(record, start, end);
  if (byteAt(record, at, end) === 0x5d /* ] */ && at + 1 === end) return pairs;
  for (;;) {
    if (byteAt(record, at, end) !== 0x5b || byteAt(record, at + 1, end) !== 0x22 /* " */)
      return parsed(record, start, end);
    const nameStart = at + 2;
    let index = nameStart;
    while (isPlainByte(byteAt(record, index, end))) index++;
    const nameEnd = index;
    // ","
    if (
      byteAt(record, index, end) !== 0x22 ||
      byteAt(record, index + 1, end) !== 0x2c ||
      byteAt(record, index + 2, end) !== 0x22
    ) {
      return parsed(record, start, end);
    }
    const valueStart = index + 3;
    index = valueStart;
    while (isPlainByte(byteAt(record, index, end))) index++;
    // "]
    if (byteAt(record, index, end) !== 0x22 || byteAt(record, index + 1, end) !== 0x5d)
      return parsed(record, start, end);
    pairs.push([
      record.toString("latin1", nameStart, nameEnd),
      record.toString("latin1", valueStart, index),
    ]);
    at = index + 2;
    if (byteAt(record, at, end) === 0x2c /* , */) {
      at++;
      continue;
    }
    if (byteAt(record, at, end) === 0x5d && at + 1 === end) return pairs;
    return parsed(record, start, end);
  }
}

function parsed(record: Buffer, start: number, end: number): unknown {
  return JSON.parse(record.toString("utf8", start, end));
}
