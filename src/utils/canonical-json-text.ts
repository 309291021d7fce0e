import { canonicalJsonOfParsed } from "./canonical-json.ts";

/** Deepest nesting read; past it the text is refused (a stack's worth of `[` is an attack). */
const maxDepth = 512;

/** The default of `parsed`: not given. */
const unparsed: unique symbol = Symbol("unparsed");

/**
 * Whether `JSON.parse` may read two different texts of `text`'s shape as one value: a number
 * with more significant digits than a double keeps, or with an exponent (which can leave the
 * double's range), or a `__proto__` key, maybe spelled with `\u` escapes (which a parsed
 * object's copy loses). Conservative: a long digit run, a `3e4` or any `\u` escape inside a
 * string also counts.
 */
const lossyShape = /(?:\d\.?){16}|\d[eE][+-]?\d|"__proto__"|\\u/;

/**
 * The canonical JSON of a JSON text (see `canonicalJson`: keys sorted at every level, no
 * whitespace), with every number as the exact decimal it spells. `JSON.parse` rounds numbers
 * to doubles, so `9007199254740993` and `9007199254740992` would read as one value (and
 * `1e400` as `null`): two requests a handler with exact decimals tells apart would be
 * fingerprinted as one. A number is written in JavaScript's notation for its exact value, so
 * the text is `canonicalJson(JSON.parse(text))` whenever every number is written as
 * JavaScript writes its double (as `JSON.stringify` and most serializers do) or is an integer
 * below 10^21 written in full; an exact integer of 22 digits or more is kept whole.
 *
 * `parsed`, when given, must be `JSON.parse(text)`: it is reused when nothing can be rounded.
 *
 * @example
 * ```ts
 * canonicalJsonText('{ "b": 1.50, "a": 9007199254740993 }'); // '{"a":9007199254740993,"b":1.5}'
 * ```
 * @throws SyntaxError when `text` is not JSON, or nests deeper than 512 levels.
 */
export function canonicalJsonText(text: string, parsed: unknown = unparsed): string {
  if (!lossyShape.test(text)) {
    try {
      return canonicalJsonOfParsed(parsed === unparsed ? JSON.parse(text) : parsed);
    } catch (error) {
      // JSON.parse reads any depth; writing it back recurses, and a deep enough text overflows.
      if (error instanceof RangeError)
        throw new SyntaxError("JSON nested too deep", { cause: error });
      throw error;
    }
  }
  const reader = new Reader(text);
  reader.space();
  const value = reader.value(0);
  reader.space();
  if (reader.at < text.length) reader.fail();
  return value;
}

const numberToken = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
const stringToken = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const indexKey = /^(?:0|[1-9]\d*)$/;

/** Whether JavaScript lists `key` first, in numeric order: an array index. */
function isIndex(key: string): boolean {
  return indexKey.test(key) && Number(key) < 2 ** 32 - 1;
}

class Reader {
  readonly #text: string;
  at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  fail(): never {
    throw new SyntaxError(`not JSON at position ${this.at}`);
  }

  space(): void {
    const text = this.#text;
    for (;;) {
      const code = text.charCodeAt(this.at);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return;
      this.at++;
    }
  }

  value(depth: number): string {
    if (depth > maxDepth) this.fail();
    const text = this.#text;
    const char = text[this.at];
    if (char === "{") return this.#object(depth);
    if (char === "[") return this.#array(depth);
    if (char === '"') return JSON.stringify(this.#string());
    for (const literal of ["true", "false", "null"]) {
      if (text.startsWith(literal, this.at)) {
        this.at += literal.length;
        return literal;
      }
    }
    numberToken.lastIndex = this.at;
    const number = numberToken.exec(text)?.[0];
    if (number === undefined) this.fail();
    this.at += number.length;
    return canonicalNumber(number);
  }

  #string(): string {
    stringToken.lastIndex = this.at;
    const token = stringToken.exec(this.#text)?.[0];
    if (token === undefined) this.fail();
    this.at += token.length;
    return JSON.parse(token) as string;
  }

  #expect(char: string): void {
    if (this.#text[this.at] !== char) this.fail();
    this.at++;
  }

  #array(depth: number): string {
    this.at++;
    this.space();
    const items: string[] = [];
    if (this.#text[this.at] === "]") {
      this.at++;
      return "[]";
    }
    for (;;) {
      this.space();
      items.push(this.value(depth + 1));
      this.space();
      if (this.#text[this.at] === "]") break;
      this.#expect(",");
    }
    this.at++;
    return `[${items.join(",")}]`;
  }

  #object(depth: number): string {
    this.at++;
    this.space();
    // As JSON.parse: a repeated key keeps its last value.
    const members = new Map<string, string>();
    if (this.#text[this.at] === "}") {
      this.at++;
      return "{}";
    }
    for (;;) {
      this.space();
      if (this.#text[this.at] !== '"') this.fail();
      const key = this.#string();
      this.space();
      this.#expect(":");
      this.space();
      members.set(key, this.value(depth + 1));
      this.space();
      if (this.#text[this.at] === "}") break;
      this.#expect(",");
    }
    this.at++;
    // In the order JSON.stringify lists canonicalJson's sorted copy: array indices first, by
    // value, then the other keys sorted by UTF-16 code units.
    const keys = [...members.keys()];
    const indices = keys.filter(isIndex);
    const others = keys.filter((key) => !isIndex(key));
    indices.sort((a, b) => Number(a) - Number(b));
    others.sort();
    const body = [...indices, ...others].map(
      (key) => `${JSON.stringify(key)}:${members.get(key) as string}`,
    );
    return `{${body.join(",")}}`;
  }
}

/**
 * A JSON number literal as the exact decimal it spells, written as JavaScript writes numbers
 * (ECMA-262 Number::toString): `1.50` is `1.5`, `1E3` is `1000`, `9007199254740993` stays.
 *
 * @example
 * ```ts
 * canonicalNumber("1.50E+3"); // "1500"
 * canonicalNumber("12345678901234567890"); // "12345678901234567890" (String(Number(...)) rounds it)
 * ```
 */
export function canonicalNumber(literal: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (match === null) throw new SyntaxError(`not a JSON number: ${literal}`);
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
  const all = whole + fraction;
  const leadingZeros = all.length - all.replace(/^0+/, "").length;
  const digits = all.slice(leadingZeros).replace(/0+$/, "");
  if (digits === "") return "0";
  // The value is 0.digits × 10^n.
  const n = BigInt(whole.length - leadingZeros) + BigInt(exponent);
  const k = BigInt(digits.length);
  let text: string;
  if (k <= n && n <= 21n) text = digits + "0".repeat(Number(n - k));
  else if (0n < n && n <= 21n) text = `${digits.slice(0, Number(n))}.${digits.slice(Number(n))}`;
  else if (-6n < n && n <= 0n) text = `0.${"0".repeat(Number(-n))}${digits}`;
  else {
    const e = n - 1n;
    const mantissa = digits.length === 1 ? digits : `${digits.charAt(0)}.${digits.slice(1)}`;
    text = `${mantissa}e${e < 0n ? "-" : "+"}${e < 0n ? -e : e}`;
  }
  return sign + text;
}
