// Records of the Valkey store written and read behind its back, in both layouts: version 1 (one
// hash per key, as 0.1.0 wrote it: HSET then PEXPIRE) and version 2 (one string per key, see
// `layout` in src/stores/valkey/scripts.ts). Tests use them to reach every rule of the scripts
// and the decoder, and to check what the scripts left.
import type { Redis } from "ioredis";
import { layout } from "../../src/stores/valkey/scripts.ts";

/** Version-1 fields; `undefined` leaves a field out. */
export type V1Fields = Record<string, string | undefined>;

/**
 * Writes a version-1 record as 0.1.0 did: the hash's fields, then the key's TTL
 * (`keyTtlMs`, 120 000 by default).
 */
export async function writeV1(
  raw: Redis,
  recordKey: string,
  fields: V1Fields,
  keyTtlMs = 120_000,
): Promise<void> {
  await raw.del(recordKey);
  const defined = Object.entries(fields).filter(
    (field): field is [string, string] => field[1] !== undefined,
  );
  if (defined.length > 0) await raw.hset(recordKey, Object.fromEntries(defined));
  await raw.pexpire(recordKey, keyTtlMs);
}

/** The parts of a version-2 record, each as the exact text stored (so any can be corrupt). */
export interface V2Parts {
  readonly version?: string;
  readonly state?: string;
  /** 16 digits normally; given as a bigint it is padded. */
  readonly token?: string | bigint;
  /** 16 digits (µs) normally; given as a number of milliseconds it is converted and padded. */
  readonly since?: string | number;
  /** 10 digits normally; given as a number it is padded. */
  readonly ttl?: string | number;
  readonly fingerprint?: string;
  /** Completed records: everything after the header (status, headers length, headers, body). */
  readonly tail?: string | Buffer;
}

const pad = (value: string | number | bigint, digits: number) =>
  typeof value === "string" ? value : value.toString().padStart(digits, "0");

/** A completed record's tail: status, headers length, headers JSON, body. */
export function v2Tail(status: string, headers: string, body: string | Buffer): Buffer {
  const head = Buffer.from(headers);
  return Buffer.concat([
    Buffer.from(`${status}${String(head.byteLength).padStart(10, "0")}`),
    head,
    Buffer.from(body),
  ]);
}

/** A version-2 record's bytes; the parts left out are those of a live processing record. */
export function encodeV2(parts: V2Parts): Buffer {
  const header =
    (parts.version ?? "2") +
    (parts.state ?? "p") +
    pad(parts.token ?? 12n, 16) +
    pad(typeof parts.since === "string" ? parts.since : (parts.since ?? Date.now()) * 1000, 16) +
    pad(parts.ttl ?? 60_000, 10) +
    (parts.fingerprint ?? "9a".repeat(16));
  return Buffer.concat([Buffer.from(header, "latin1"), Buffer.from(parts.tail ?? "")]);
}

/** Writes a version-2 record (`encodeV2`) with a key TTL of `keyTtlMs` (120 000 by default). */
export async function writeV2(
  raw: Redis,
  recordKey: string,
  parts: V2Parts | Buffer,
  keyTtlMs = 120_000,
): Promise<void> {
  const value = Buffer.isBuffer(parts) ? parts : encodeV2(parts);
  await raw.set(recordKey, value, "PX", keyTtlMs);
}

/** The tombstone a release or a purge leaves: `2t` and the 16-digit token. */
export function tombstoneOf(token: bigint): string {
  return `2t${token.toString().padStart(16, "0")}`;
}

/** A version-2 record's fields, read back; undefined when the key is absent. */
export async function readV2(
  raw: Redis,
  recordKey: string,
): Promise<{ state: string; token: bigint; body: Buffer; record: Buffer } | undefined> {
  const record = await raw.getBuffer(recordKey);
  if (record === null) return undefined;
  const state = record.toString("latin1", layout.state, layout.token);
  const token = BigInt(record.toString("latin1", layout.token, layout.since));
  return { state, token, body: bodyOf(record), record };
}

/** The body of a version-2 record's bytes (empty unless it is completed). */
export function bodyOf(record: Buffer): Buffer {
  if (record.toString("latin1", layout.state, layout.token) !== "c") return Buffer.alloc(0);
  const headersLength = Number(record.toString("latin1", layout.headersLength, layout.headers));
  return record.subarray(layout.headers + headersLength);
}

/** Replaces a completed version-2 record's body, keeping its header, headers and TTL. */
export async function replaceBody(raw: Redis, recordKey: string, body: Buffer): Promise<void> {
  const stored = await readV2(raw, recordKey);
  if (stored?.state !== "c") throw new Error(`${recordKey} holds no completed record`);
  const start = stored.record.byteLength - stored.body.byteLength;
  await raw.set(recordKey, Buffer.concat([stored.record.subarray(0, start), body]), "KEEPTTL");
}
