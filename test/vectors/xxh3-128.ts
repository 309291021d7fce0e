// The committed XXH3-128 test vectors (xxh3-128.json, printed by the reference `xxhsum -H2`).
import { readFileSync } from "node:fs";

/** Bytes as hex, a UTF-8 text, or a long pattern `(index * step + offset) % 256`. */
export type VectorBody =
  | { readonly hex: string }
  | { readonly text: string }
  | {
      readonly pattern: { readonly length: number; readonly step: number; readonly offset: number };
    };

export interface XxhVectors {
  readonly source: string;
  /** Digests of the body's bytes alone. */
  readonly raw: readonly { readonly body: VectorBody; readonly xxh128: string }[];
  /** Digests of `fingerprintInput(operation, body)`. */
  readonly fingerprints: readonly {
    readonly operation: string;
    readonly body: VectorBody;
    readonly xxh128: string;
  }[];
}

export function bodyOf(body: VectorBody): Uint8Array {
  if ("hex" in body) return Uint8Array.from(Buffer.from(body.hex, "hex"));
  if ("text" in body) return new TextEncoder().encode(body.text);
  const { length, step, offset } = body.pattern;
  return new Uint8Array(length).map((_, index) => (index * step + offset) % 256);
}

/** A short name for a test title. */
export function describeBody(body: VectorBody): string {
  if ("hex" in body) return `${body.hex.length / 2} random bytes`;
  if ("text" in body) return `text ${JSON.stringify(body.text)}`;
  return `${body.pattern.length}-byte pattern`;
}

export function loadXxhVectors(): XxhVectors {
  return JSON.parse(readFileSync(new URL("xxh3-128.json", import.meta.url), "utf8")) as XxhVectors;
}
