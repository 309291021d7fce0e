import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { CachedResponse, type HeaderPairs } from "../core/cached-response.ts";
import type { FencedOutcome, LeaseOutcome } from "../core/fenced-outcome.ts";
import type { FencingToken } from "../core/fencing-token.ts";
import type { Fingerprint } from "../core/fingerprint.ts";
import {
  assertCompleted,
  type Completed,
  type IdempotencyEntry,
  type Processing,
} from "../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore, StoredEntry } from "../core/idempotency-store.ts";
import type { InsertResult } from "../core/insert-result.ts";
import { restoreEntry } from "../core/restore-entry.ts";
import { assertIdempotencyKey } from "../core/store-arguments.ts";
import type { LeaseOptions, RetentionOptions } from "../core/ttl.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";

/** One encryption key: 32 bytes for AES-256-GCM, and the id stored with what it encrypts. */
export interface EncryptionKey {
  /** 1 to 64 printable ASCII characters, e.g. `"2026-12"`. */
  readonly id: string;
  /** 32 random bytes. */
  readonly key: Uint8Array;
}

/**
 * Options of {@link encryptStore}.
 *
 * @example
 * ```ts
 * const options: EncryptStoreOptions = {
 *   keys: [
 *     { id: "2026-12", key: Buffer.from(process.env.IDEMPOTENCY_KEY_2026_12!, "base64") },
 *     { id: "2026-06", key: Buffer.from(process.env.IDEMPOTENCY_KEY_2026_06!, "base64") },
 *   ],
 * };
 * ```
 */
export interface EncryptStoreOptions {
  /**
   * The key set, newest first: new responses are encrypted under the first, stored ones are
   * decrypted under whichever key they name. To rotate, put the new key first and keep the old
   * ones until the retention of what they encrypted has passed.
   */
  readonly keys: readonly EncryptionKey[];
}

// The stored body: magic, key id length, key id, IV, ciphertext, tag.
const magic = Buffer.from("IE1");
const ivBytes = 12;
const tagBytes = 16;
const storedStatus = 200;
const storedHeaders: HeaderPairs = [["content-type", "application/vnd.idempotent.encrypted"]];

function validateKeys(keys: unknown): ReadonlyMap<string, Buffer> & { readonly newest: string } {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new InvalidArgumentError("keys", "expected at least one encryption key");
  }
  const byId = new Map<string, Buffer>();
  for (const candidate of keys as unknown[]) {
    const { id, key } = (candidate ?? {}) as Partial<EncryptionKey>;
    if (typeof id !== "string" || !/^[\x21-\x7e]{1,64}$/.test(id) || byId.has(id)) {
      throw new InvalidArgumentError(
        "keys",
        "each key needs a unique id of 1-64 printable characters",
      );
    }
    if (!(key instanceof Uint8Array) || key.byteLength !== 32) {
      throw new InvalidArgumentError("keys", `key ${id}: expected 32 bytes for AES-256-GCM`);
    }
    byId.set(id, Buffer.from(key));
  }
  return Object.assign(byId, { newest: (keys[0] as EncryptionKey).id });
}

/** What binds a ciphertext to its entry: a record moved to another key or request fails. */
function associatedData(key: IdempotencyKey, fingerprint: Fingerprint): Buffer {
  return Buffer.from(JSON.stringify(["idempotent-encrypted-v1", key.value, fingerprint.hex]));
}

/** status (u16), headers JSON length (u32), headers JSON, body. */
function serialize(response: CachedResponse): Buffer {
  const headers = Buffer.from(JSON.stringify(response.headers));
  const prefix = Buffer.alloc(6);
  prefix.writeUInt16BE(response.status, 0);
  prefix.writeUInt32BE(headers.byteLength, 2);
  return Buffer.concat([prefix, headers, response.body]);
}

function deserialize(plain: Buffer): CachedResponse {
  const status = plain.readUInt16BE(0);
  const length = plain.readUInt32BE(2);
  const headers = JSON.parse(plain.subarray(6, 6 + length).toString("utf8")) as HeaderPairs;
  return new CachedResponse({ status, headers, body: new Uint8Array(plain.subarray(6 + length)) });
}

/**
 * Wraps any store so cached responses (status, headers and body) are stored encrypted with
 * AES-256-GCM under a key set with key ids, the entry's key and fingerprint bound as associated
 * data. Keys, fingerprints, tokens and expiries stay as they are (they hold no response data).
 * A stored response that does not decrypt (tampered, moved to another key, or under a key no
 * longer listed) is a {@link MalformedRecordError}, never a replay.
 *
 * @example
 * ```ts
 * import { encryptStore } from "idempotent/encryption";
 *
 * const store = encryptStore(new ValkeyStore({ client }), {
 *   keys: [{ id: "2026-12", key: Buffer.from(process.env.IDEMPOTENCY_KEY!, "base64") }],
 * });
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on an empty key set, a duplicate or bad id, or a key
 *   that is not 32 bytes.
 */
export function encryptStore(
  store: IdempotencyStore,
  options: EncryptStoreOptions,
): IdempotencyStore {
  const keys = validateKeys(options.keys);

  const encrypt = (key: IdempotencyKey, entry: IdempotencyEntry<Completed>) => {
    // Checked here, before use, for callers the compiler cannot check.
    assertIdempotencyKey(key);
    assertCompleted(entry);
    const id = Buffer.from(keys.newest);
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv("aes-256-gcm", keys.get(keys.newest) as Buffer, iv);
    cipher.setAAD(associatedData(key, entry.fingerprint));
    const sealed = Buffer.concat([cipher.update(serialize(entry.response)), cipher.final()]);
    const body = Buffer.concat([
      magic,
      Buffer.from([id.byteLength]),
      id,
      iv,
      sealed,
      cipher.getAuthTag(),
    ]);
    const response = new CachedResponse({ status: storedStatus, headers: storedHeaders, body });
    return restoreEntry({ state: "completed", fingerprint: entry.fingerprint, response });
  };

  const decrypt = (key: IdempotencyKey, entry: IdempotencyEntry): IdempotencyEntry => {
    if (entry.state !== "completed") return entry;
    const body = Buffer.from(entry.response.body);
    try {
      if (!body.subarray(0, magic.byteLength).equals(magic)) throw new Error("not encrypted");
      const idLength = body.readUInt8(magic.byteLength);
      const idEnd = magic.byteLength + 1 + idLength;
      const id = body.subarray(magic.byteLength + 1, idEnd).toString("latin1");
      const secret = keys.get(id);
      if (secret === undefined) throw new Error(`key ${id} is not in the key set`);
      const decipher = createDecipheriv(
        "aes-256-gcm",
        secret,
        body.subarray(idEnd, idEnd + ivBytes),
      );
      decipher.setAAD(associatedData(key, entry.fingerprint));
      decipher.setAuthTag(body.subarray(body.byteLength - tagBytes));
      const plain = Buffer.concat([
        decipher.update(body.subarray(idEnd + ivBytes, body.byteLength - tagBytes)),
        decipher.final(),
      ]);
      return restoreEntry({
        state: "completed",
        fingerprint: entry.fingerprint,
        response: deserialize(plain),
      });
    } catch (error) {
      throw new MalformedRecordError("response", `record ${key.value} does not decrypt`, {
        cause: error,
      });
    }
  };

  return {
    async tryInsert(
      key: IdempotencyKey,
      entry: IdempotencyEntry<Processing>,
      options?: LeaseOptions,
    ): Promise<InsertResult> {
      const result = await store.tryInsert(key, entry, options);
      if (result.kind === "claimed") return result;
      return { kind: "exists", entry: decrypt(key, result.entry), expiresAt: result.expiresAt };
    },
    complete: (
      key: IdempotencyKey,
      entry: IdempotencyEntry<Completed>,
      fencingToken: FencingToken,
      options?: RetentionOptions,
    ): Promise<FencedOutcome> => store.complete(key, encrypt(key, entry), fencingToken, options),
    touch: (
      key: IdempotencyKey,
      fencingToken: FencingToken,
      options?: LeaseOptions,
    ): Promise<LeaseOutcome> => store.touch(key, fencingToken, options),
    remove: (key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome> =>
      store.remove(key, fencingToken),
    async get(key: IdempotencyKey): Promise<StoredEntry | undefined> {
      const stored = await store.get(key);
      return stored === undefined
        ? undefined
        : { entry: decrypt(key, stored.entry), expiresAt: stored.expiresAt };
    },
    purge: (key: IdempotencyKey): Promise<boolean> => store.purge(key),
  };
}
