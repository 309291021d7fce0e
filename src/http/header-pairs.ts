import type { HeaderPairs } from "../core/cached-response.ts";

/** Node-style outgoing headers (`response.getHeaders()`) as ordered pairs. */
export function headerPairsOf(
  headers: Readonly<Record<string, number | string | readonly string[] | undefined>>,
): HeaderPairs {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (typeof value === "object") for (const item of value) pairs.push([name, item]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}
