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

/**
 * {@link canonicalJson} of a value straight from `JSON.parse` (plain data: no `toJSON`, no
 * accessors, no boxed primitives), with the same text. When every object's keys are already in
 * order, as a client that sends canonical JSON has them, it skips re-building every object.
 *
 * @example
 * ```ts
 * canonicalJsonOfParsed(JSON.parse('{"a":1,"b":[2]}')); // '{"a":1,"b":[2]}' (the fast way)
 * canonicalJsonOfParsed(JSON.parse('{"b":1,"a":2}')); // '{"a":2,"b":1}'
 * ```
 */
export function canonicalJsonOfParsed(value: unknown): string {
  return inOrder(value) ? JSON.stringify(value) : canonicalJson(value);
}

/**
 * Whether JSON.stringify already writes `value` as canonicalJson does. A `__proto__` key sends
 * it the long way: canonicalJson's copy drops that key.
 */
function inOrder(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (!inOrder(item)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  // for-in lists own keys first, in Object.keys order; an inherited key only adds a check.
  for (const key in record) {
    if (key === "__proto__" || (previous !== undefined && !(previous < key))) return false;
    if (!inOrder(record[key])) return false;
    previous = key;
  }
  return true;
}
