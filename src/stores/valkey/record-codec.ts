import { CachedResponse, type HeaderPairs } from "../../core/cached-response.ts";
import { Fingerprint } from "../../core/fingerprint.ts";
import { CompletedEntry, ProcessingEntry } from "../../core/idempotency-entry.ts";
import type { StoredEntry } from "../../core/idempotency-store.ts";
import { maxTtlMs } from "../../core/ttl.ts";
import { MalformedRecordError } from "../../errors/malformed-record-error.ts";
import { liveReplyCodes } from "./store-scripts.ts";

/**
 * Encodes headers for the record's `h` field: `name:value` lines joined by `\n`. Unambiguous
 * because header names exclude `:` and neither names nor values may contain a newline.
 *
 * @example
 * ```ts
 * encodeHeaders([["content-type", "text/plain"], ["x-a", "1:2"]]); // "content-type:text/plain\nx-a:1:2"
 * ```
 */
export function encodeHeaders(headers: HeaderPairs): string {
  let text = "";
  for (let index = 0; index < headers.length; index++) {
    const [name, value] = headers[index] as readonly [string, string];
    text += index === 0 ? `${name}:${value}` : `\n${name}:${value}`;
  }
  return text;
}

/**
 * Decodes {@link encodeHeaders}' form. Names and values are checked later, by `CachedResponse`.
 * @throws {@link MalformedRecordError} when a line has no `:`.
 *
 * @example
 * ```ts
 * decodeHeaders("content-type:text/plain"); // [["content-type", "text/plain"]]
 * ```
 */
export function decodeHeaders(text: string): [string, string][] {
  if (text === "") return [];
  const pairs: [string, string][] = [];
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 1) throw new MalformedRecordError("h", "expected name:value lines");
    pairs.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  return pairs;
}

function malformed(recordKey: string, path: string, message: string, cause?: unknown) {
  return new MalformedRecordError(
    path,
    `${message} (record ${recordKey})`,
    cause === undefined ? undefined : { cause },
  );
}

function integerOf(value: unknown, recordKey: string, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw malformed(recordKey, field, "expected an integer");
  }
  return value;
}

function fingerprintOf(
  value: unknown,
  recordKey: string,
  expected: Fingerprint | undefined,
): Fingerprint {
  if (!Buffer.isBuffer(value)) throw malformed(recordKey, "fp", "missing fingerprint");
  const hex = value.toString("latin1");
  // A retry usually carries the stored fingerprint: reuse it rather than parse another.
  if (expected?.hex === hex) return expected;
  try {
    return Fingerprint.fromHex(hex);
  } catch (error) {
    throw malformed(recordKey, "fp", "expected 32 hexadecimal digits", error);
  }
}

/**
 * Decodes the reply of a claim or get script that found a live (or malformed) record.
 * @param expected A fingerprint the record likely holds, reused when it does.
 * @throws {@link MalformedRecordError} when the record is malformed, of an unknown layout
 * version, or not a valid entry.
 *
 * @example
 * ```ts
 * const { entry, expiresAt } = decodeLiveRecord(reply, "billing:{order-42}", undefined);
 * ```
 */
export function decodeLiveRecord(
  reply: readonly unknown[],
  recordKey: string,
  expected: Fingerprint | undefined,
): StoredEntry {
  const code = reply[0];
  if (code === liveReplyCodes.malformed) {
    const field = Buffer.isBuffer(reply[1]) ? reply[1].toString() : "";
    const message = Buffer.isBuffer(reply[2]) ? reply[2].toString() : "malformed";
    throw malformed(recordKey, field, message);
  }
  const expiresAt = integerOf(reply[1], recordKey, "exp");
  const fingerprint = fingerprintOf(reply[2], recordKey, expected);
  if (code === liveReplyCodes.processing) {
    const lease = integerOf(reply[3], recordKey, "lease");
    if (lease < 1 || lease > maxTtlMs) throw malformed(recordKey, "lease", "out of range");
    return { entry: new ProcessingEntry(fingerprint, lease), expiresAt };
  }
  if (code !== liveReplyCodes.completed) throw malformed(recordKey, "", "unexpected script reply");
  const status = integerOf(reply[3], recordKey, "st");
  const headers = reply[4];
  const body = reply[5];
  if (!Buffer.isBuffer(headers)) throw malformed(recordKey, "h", "missing headers");
  if (!Buffer.isBuffer(body)) throw malformed(recordKey, "b", "missing body");
  let response: CachedResponse;
  try {
    response = new CachedResponse({ status, headers: decodeHeaders(headers.toString()), body });
  } catch (error) {
    // CachedResponse refuses a status or a header it would never have stored.
    const path = error instanceof MalformedRecordError ? error.path : "";
    throw malformed(recordKey, path, "not a valid response", error);
  }
  return { entry: new CompletedEntry(fingerprint, response), expiresAt };
}
