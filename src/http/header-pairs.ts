import type { HeaderPairs } from "../core/cached-response.ts";

/**
 * Node-style outgoing headers (`response.getHeaders()`) as ordered pairs.
 *
 * @example
 * ```ts
 * headerPairsOf({ "content-type": "text/plain", vary: ["a", "b"] });
 * // [["content-type", "text/plain"], ["vary", "a"], ["vary", "b"]]
 * ```
 */
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

/**
 * Header pairs grouped by lower-case name, for frameworks that set a header once with all its
 * values: so a replayed header replaces what a middleware set earlier instead of repeating it.
 *
 * @example
 * ```ts
 * for (const [name, values] of groupHeaders(pairs)) response.setHeader(name, values);
 * ```
 */
export function groupHeaders(pairs: HeaderPairs): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    const values = grouped.get(lower);
    if (values === undefined) grouped.set(lower, [value]);
    else values.push(value);
  }
  return grouped;
}
