/**
 * JSON with object keys sorted at every level and no whitespace, so two values that differ
 * only in key order or spacing give the same text. `undefined` members are left out, as
 * `JSON.stringify` does; `toJSON` is honoured.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 * @throws TypeError on a value JSON cannot hold (a BigInt, a cycle).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) => {
    if (member === null || typeof member !== "object" || Array.isArray(member)) return member;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(member).sort()) {
      sorted[key] = (member as Record<string, unknown>)[key];
    }
    return sorted;
  });
}
