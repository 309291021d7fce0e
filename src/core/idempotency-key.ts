import { randomUUID } from "node:crypto";
import { InvalidKeyError } from "../errors/invalid-key-error.ts";

/**
 * Longest key, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * if (new TextEncoder().encode(value).byteLength > maxKeyBytes) throw new Error("too long");
 * ```
 */
export const maxKeyBytes = 255;

const encoder = new TextEncoder();

/**
 * Checks one key segment against the key rules and throws {@link InvalidKeyError} on the first
 * rule it breaks. Shared by keys, scopes and store prefixes.
 *
 * @example
 * ```ts
 * const prefix = validateKeySegment(options.prefix ?? "idempotent", "prefix");
 * ```
 */
export function validateKeySegment(value: unknown, what = "key"): string {
  if (typeof value !== "string") {
    throw new InvalidKeyError("not-a-string", `${what} must be a string, got ${typeof value}`);
  }
  if (value.length === 0) throw new InvalidKeyError("empty", `${what} is empty`);
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings skip the encoding.
  if (value.length * 3 > maxKeyBytes && utf8Length(value) > maxKeyBytes) {
    throw new InvalidKeyError("too-long", `${what} is longer than ${maxKeyBytes} UTF-8 bytes`);
  }
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    if (unit < 0x20 || (unit >= 0x7f && unit < 0xa0)) {
      throw new InvalidKeyError(
        "control-character",
        `${what} contains the control character U+${unit.toString(16).padStart(4, "0")}`,
      );
    }
    if (unit === 0x3a || unit === 0x2f) {
      throw new InvalidKeyError(
        "reserved-character",
        `${what} contains "${String.fromCharCode(unit)}", reserved as a separator`,
      );
    }
    // Lone surrogates cannot be encoded as UTF-8 and would collide after replacement.
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = value.charCodeAt(index + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        index++;
      } else {
        throw new InvalidKeyError("control-character", `${what} contains a lone surrogate`);
      }
    }
  }
  return value;
}

function utf8Length(value: string): number {
  return encoder.encode(value).byteLength;
}

/**
 * The identity of one logical operation: 1-255 UTF-8 bytes, no control characters, `:` and `/`
 * reserved (`:` separates a store's prefix, `/` a scope).
 *
 * @example
 * ```ts
 * const fromClient = IdempotencyKey.parse(request.headers["idempotency-key"]);
 * const generated = IdempotencyKey.random(); // UUID v4
 * const step = generated.scoped("charge"); // "<uuid>/charge"
 * ```
 */
export class IdempotencyKey {
  /** The key as a string; safe to use in store keys and logs. */
  readonly value: string;

  private constructor(value: string) {
    this.value = value;
  }

  /**
   * Validates `value` and wraps it.
   * @throws {@link InvalidKeyError} when a rule is broken.
   */
  static parse(value: unknown): IdempotencyKey {
    return new IdempotencyKey(validateKeySegment(value));
  }

  /** A random UUID v4 key (the seed's `IdempotencyKey::default()`). */
  static random(): IdempotencyKey {
    return new IdempotencyKey(randomUUID());
  }

  /**
   * Parses the JSON form (a string), which may be a scoped key (`key/step`).
   * @throws {@link InvalidKeyError} when it is not a valid key.
   */
  static fromJSON(json: unknown): IdempotencyKey {
    if (typeof json !== "string") return IdempotencyKey.parse(json);
    const [root = "", ...steps] = json.split("/");
    let key = IdempotencyKey.parse(root);
    for (const step of steps) key = key.scoped(step);
    return key;
  }

  /**
   * Derives the key of one step of a multi-step operation: `key/step`.
   * @throws {@link InvalidKeyError} when the step or the result breaks a rule.
   */
  scoped(step: string): IdempotencyKey {
    validateKeySegment(step, "scope");
    const value = `${this.value}/${step}`;
    if (utf8Length(value) > maxKeyBytes) {
      throw new InvalidKeyError("too-long", `scoped key is longer than ${maxKeyBytes} UTF-8 bytes`);
    }
    return new IdempotencyKey(value);
  }

  /** Whether two keys are the same. */
  equals(other: IdempotencyKey): boolean {
    return this.value === other.value;
  }

  toString(): string {
    return this.value;
  }

  /** The JSON form: the key as a string. */
  toJSON(): string {
    return this.value;
  }
}
