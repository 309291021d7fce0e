import { CachedResponse, type HeaderPairs } from "../../core/cached-response.ts";
import { fencedOutcome, type FencedOutcome, type LeaseOutcome } from "../../core/fenced-outcome.ts";
import { FencingToken, safeTokenValue } from "../../core/fencing-token.ts";
import { Fingerprint } from "../../core/fingerprint.ts";
import {
  assertCompleted,
  assertProcessing,
  type Completed,
  type IdempotencyEntry,
  type Processing,
} from "../../core/idempotency-entry.ts";
import { validateKeySegment, type IdempotencyKey } from "../../core/idempotency-key.ts";
import { assertFencingToken, assertIdempotencyKey } from "../../core/store-arguments.ts";
import type { IdempotencyStore, StoredEntry } from "../../core/idempotency-store.ts";
import type { InsertResult } from "../../core/insert-result.ts";
import { restoreEntry } from "../../core/restore-entry.ts";
import {
  leaseOf,
  resolveStoreTtls,
  retentionOf,
  type LeaseOptions,
  type RetentionOptions,
  type StoreTtlOptions,
  type StoreTtls,
} from "../../core/ttl.ts";
import { InvalidArgumentError } from "../../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../errors/malformed-record-error.ts";
import { StoreError } from "../../errors/store-error.ts";
import {
  claimScript,
  completeScript,
  getScript,
  purgeScript,
  layout,
  removeScript,
  scriptCodes,
  tokenDigits,
  tokenRetentionMs,
  touchScript,
  ttlDigits,
  type Script,
} from "./scripts.ts";
import { guardClientErrors } from "./client-errors.ts";
import { decodeHeaders, encodeHeaders } from "./headers-json.ts";
import { validateDeadlineMs, withDeadline, type Deadline } from "../../utils/deadline.ts";
import { deadlineError, toStoreError } from "./to-store-error.ts";
import {
  toValkeyConnection,
  type CommandArgument,
  type ValkeyClient,
  type ValkeyConnection,
} from "./valkey-connection.ts";

/** Wait for replicas after writes that matter (claim, complete). */
export interface WaitForReplicasOptions {
  /** How many replicas must acknowledge. */
  readonly replicas: number;
  /** How long to wait for them, in milliseconds. */
  readonly timeoutMs: number;
}

/** The default of {@link ValkeyStoreOptions.operationTimeoutMs}. */
const defaultOperationTimeoutMs = 2000;

/**
 * Options of {@link ValkeyStore}; `leaseTtlMs` (30 000) and `retentionTtlMs` (24 hours) are the
 * defaults of calls that give none.
 */
export interface ValkeyStoreOptions extends StoreTtlOptions {
  /**
   * An `ioredis`/`iovalkey` client or cluster, a node-redis client or cluster, or a connection.
   * A client with no `error` listener gets one that ignores the events (failures reach the
   * caller as the `StoreError` of the operation they break), so a lost connection cannot crash
   * the process through an unhandled `error` event.
   */
  readonly client: ValkeyClient;
  /**
   * Namespace of this service's keys (key rules apply: no `:` or `/`); records are stored at
   * `<prefix>:{<key>}`. `"idempotent"` by default; no `{` or `}` (the key is the hash tag).
   */
  readonly prefix?: string;
  /**
   * After a claim or a completion, WAIT until this many replicas have it, so a failover cannot
   * lose it. Too few acknowledgements fail with a retryable `StoreError` of kind
   * `replication`; after a claim that means the claim is not trusted and the side effect must
   * not run. Not available on a cluster client.
   */
  readonly waitForReplicas?: WaitForReplicasOptions;
  /**
   * How long one operation waits for the server, in milliseconds: a script call (EVALSHA and
   * its EVAL fallback together), or WAIT, which gets `waitForReplicas.timeoutMs` on top. Past
   * it the operation rejects with a retryable `StoreError` of kind `timeout`, `ambiguous` for
   * every write (the command may still reach the server and be applied later); a reply that
   * arrives later is dropped. 2000 by default; a positive integer.
   *
   * @example
   * ```ts
   * new ValkeyStore({ client, operationTimeoutMs: 500 }); // a request budget of about a second
   * ```
   */
  readonly operationTimeoutMs?: number;
}

/** The store's operations, as errors name them. */
type Operation = "tryInsert" | "complete" | "touch" | "remove" | "get" | "purge";

/**
 * A lease or retention as the scripts take it: the padded TTL the record holds, and the key's
 * TTL (the TTL plus `tokenRetentionMs`) for PX, so the script formats no number.
 */
interface TtlArgs {
  readonly ttlMs: number;
  readonly padded: string;
  readonly keyTtl: string;
}

function ttlArgs(ttlMs: number): TtlArgs {
  return { ttlMs, padded: padded(ttlMs), keyTtl: String(ttlMs + tokenRetentionMs) };
}

const fencedKinds = {
  [scriptCodes.applied]: fencedOutcome.applied,
  [scriptCodes.fencingMismatch]: fencedOutcome["fencing-mismatch"],
  [scriptCodes.keyExpired]: fencedOutcome["key-expired"],
  [scriptCodes.fingerprintMismatch]: fencedOutcome["fingerprint-mismatch"],
} as const;

function text(value: unknown, field: string): string {
  if (Buffer.isBuffer(value)) return value.toString("latin1");
  if (typeof value === "string") return value;
  throw new MalformedRecordError(field, "missing");
}

function integer(value: unknown, field: string): number {
  const parsed = typeof value === "number" ? value : Number(text(value, field));
  if (!Number.isSafeInteger(parsed)) throw new MalformedRecordError(field, "expected an integer");
  return parsed;
}

/** A version-1 record's token: decimal digits below 2^53, as the scripts write and check it. */
function checkToken(value: unknown): void {
  const digits = text(value, "tok");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(digits) || !Number.isSafeInteger(Number(digits))) {
    throw new MalformedRecordError("tok", "expected a decimal integer below 2^53");
  }
}

/** The outcome a fenced script's code stands for. */
function fencedOf(code: unknown, recordKey: string): FencedOutcome {
  const outcome = fencedKinds[code as keyof typeof fencedKinds] as FencedOutcome | undefined;
  if (outcome === undefined) throw errorForCode(code as number, recordKey);
  return outcome;
}

function errorForCode(code: number, key: string): MalformedRecordError {
  switch (code) {
    case scriptCodes.unknownVersion:
      return new MalformedRecordError("v", `record ${key} has an unknown layout version`);
    case scriptCodes.tokensExhausted:
      return new MalformedRecordError(
        "tok",
        `record ${key} has a token no token below 2^53 can follow`,
      );
    default:
      return new MalformedRecordError("", `record ${key} is corrupt`);
  }
}

const maxToken = String(Number.MAX_SAFE_INTEGER);
const headersLengthDigits = layout.headers - layout.headersLength;

/** A zero-padded number as the records hold it. */
function padded(value: number, digits = ttlDigits): string {
  return String(value).padStart(digits, "0");
}

/**
 * A safe integer as 16 zero-padded digits, formatted in two halves below 10^8: each one a small
 * integer, which formats several times faster than a number past 2^31 (a double).
 */
function sixteenDigits(value: number): string {
  const high = Math.floor(value / 1e8);
  return String(1e8 + high).slice(1) + String(1e8 + (value - high * 1e8)).slice(1);
}

/** The fixed-width decimal number at `start` (0-based, `digits` long) of a version-2 record. */
function digitsAt(record: Buffer, start: number, digits: number, field: string): number {
  let value = 0;
  for (let index = start; index < start + digits; index++) {
    const digit = (record[index] ?? -1) - 48;
    if (digit < 0 || digit > 9) throw new MalformedRecordError(field, "expected decimal digits");
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Decodes a live version-2 record as the scripts return it: the whole string value (see
 * {@link layout}).
 */
function decodeRecord(record: Buffer, key: string): StoredEntry {
  try {
    if (record[layout.version] !== 0x32) throw errorForCode(scriptCodes.unknownVersion, key);
    const state = record[layout.state];
    // The scripts refuse a record without a valid token already; this guards a changed script.
    if (digitsAt(record, layout.token, tokenDigits, "tok") > Number.MAX_SAFE_INTEGER) {
      throw new MalformedRecordError("tok", "expected a decimal integer below 2^53");
    }
    const since = digitsAt(record, layout.since, tokenDigits, "since");
    const expiresAt = Math.floor(since / 1000) + digitsAt(record, layout.ttl, ttlDigits, "ttl");
    const fingerprint = Fingerprint.fromHex(
      record.toString("latin1", layout.fingerprint, layout.status),
    );
    if (state === 0x70 /* p */ && record.length === layout.status) {
      return { entry: restoreEntry({ state: "processing", fingerprint }), expiresAt };
    }
    if (state !== 0x63 /* c */) throw new MalformedRecordError("s", "unknown state or length");
    const headersEnd =
      layout.headers + digitsAt(record, layout.headersLength, headersLengthDigits, "headersLength");
    if (headersEnd > record.length) throw new MalformedRecordError("h", "headers cut short");
    const headers = decodeHeaders(record, layout.headers, headersEnd) as HeaderPairs;
    const status = digitsAt(record, layout.status, 3, "status");
    const response = new CachedResponse({ status, headers, body: record.subarray(headersEnd) });
    return { entry: restoreEntry({ state: "completed", fingerprint, response }), expiresAt };
  } catch (error) {
    if (error instanceof MalformedRecordError) throw error;
    throw new MalformedRecordError("", `record ${key} is corrupt`, { cause: error });
  }
}

/**
 * Decodes a live version-1 record as the scripts return it:
 * `[_, state, fingerprint, token, lease, status, headers, body, expiresAt]`.
 */
function decodeV1Record(reply: readonly unknown[], key: string): StoredEntry {
  try {
    const state = text(reply[1], "s");
    const fingerprint = Fingerprint.fromHex(text(reply[2], "fp"));
    // The scripts refuse a record without a valid token already; this guards a changed script.
    checkToken(reply[3]);
    const expiresAt = integer(reply[8], "expiresAt");
    if (state === "p")
      return { entry: restoreEntry({ state: "processing", fingerprint }), expiresAt };
    if (state !== "c") throw new MalformedRecordError("s", `unknown state ${state}`);
    const headers = JSON.parse(
      Buffer.isBuffer(reply[6]) ? reply[6].toString("utf8") : "",
    ) as HeaderPairs;
    const body = reply[7];
    if (!Buffer.isBuffer(body)) throw new MalformedRecordError("b", "missing body");
    const response = new CachedResponse({ status: integer(reply[5], "st"), headers, body });
    return { entry: restoreEntry({ state: "completed", fingerprint, response }), expiresAt };
  } catch (error) {
    if (error instanceof MalformedRecordError) throw error;
    throw new MalformedRecordError("", `record ${key} is corrupt`, { cause: error });
  }
}

/** A live record as the claim and get scripts reply with it, in either layout; or a code. */
function decodeLive(reply: unknown, key: string): StoredEntry {
  if (Buffer.isBuffer(reply)) return decodeRecord(reply, key);
  if (Array.isArray(reply)) return decodeV1Record(reply, key);
  if (typeof reply === "number") throw errorForCode(reply, key);
  throw new MalformedRecordError("", "unexpected script reply");
}

const zeros = "0".repeat(headersLengthDigits);

/**
 * A completed record's response part before the body, as text: status, headers length
 * (zero-padded), headers (JSON). The body follows as an argument of its own.
 */
function responseHead(response: CachedResponse): string {
  const headers = encodeHeaders(response.headers);
  const length = String(Buffer.byteLength(headers));
  // A status is 3 digits (200-599), as CachedResponse guarantees.
  return `${response.status}${zeros.slice(length.length)}${length}${headers}`;
}

/** The body as a Buffer (clients send a Uint8Array that is not one as text), not copied. */
function bodyArgument(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * An {@link IdempotencyStore} on Valkey or Redis (standalone, primary with replicas, or
 * cluster). Every operation is one atomic Lua script, run by EVALSHA with an EVAL fallback
 * when the server lost its script cache, so the steady state is one round trip. Each record
 * is one string at `<prefix>:{<key>}` (layout version 2: a fixed-width header, then the
 * response; version-1 hashes are still read, and replaced on any write): the key is the hash
 * tag, so a cluster spreads keys over slots and no operation crosses slots. Fencing tokens are the server's clock in microseconds,
 * never below the key's previous token (kept in a tombstone after a release or a purge).
 * Bodies are stored as raw bytes. Each operation has a deadline (`operationTimeoutMs`), so a
 * server that is down or stalled fails a call within it instead of after the client's retries.
 *
 * @example
 * ```ts
 * import { Redis } from "iovalkey"; // or ioredis; or createClient / createCluster from "redis"
 * import { ValkeyStore } from "idempotent/valkey";
 *
 * const store = new ValkeyStore({ client: new Redis(process.env.VALKEY_URL), prefix: "payments" });
 * const idempotency = new Idempotency({ store });
 * ```
 */
export class ValkeyStore implements IdempotencyStore {
  /** The connection in use. */
  readonly connection: ValkeyConnection;
  readonly #prefix: string;
  readonly #waitForReplicas: WaitForReplicasOptions | undefined;
  readonly #operationTimeoutMs: number;
  readonly #ttls: StoreTtls;
  /** The arguments of the last lease and retention, which are most often the defaults. */
  #lease: TtlArgs;
  #retention: TtlArgs;
  /** Each operation's timeout error, made once rather than as a closure per call. */
  readonly #timeouts: Readonly<Record<Operation, () => Error>>;

  /** @throws {@link idempotent!InvalidArgumentError} on an option out of range. */
  constructor(options: ValkeyStoreOptions) {
    this.#ttls = resolveStoreTtls(options);
    this.connection = toValkeyConnection(options.client);
    this.#prefix = validateKeySegment(options.prefix ?? "idempotent", "prefix");
    // A brace in the prefix would make it the cluster hash tag: every key in one slot.
    if (/[{}]/.test(this.#prefix)) {
      throw new InvalidArgumentError("prefix", "must not contain { or }, the hash tag's braces");
    }
    this.#operationTimeoutMs = validateDeadlineMs(
      options.operationTimeoutMs ?? defaultOperationTimeoutMs,
      "operationTimeoutMs",
    );
    const wait = options.waitForReplicas;
    if (wait !== undefined) {
      if (!Number.isInteger(wait.replicas) || wait.replicas < 1) {
        throw new InvalidArgumentError("waitForReplicas.replicas", "expected a positive integer");
      }
      validateDeadlineMs(wait.timeoutMs, "waitForReplicas.timeoutMs");
      if (this.connection.cluster) {
        throw new InvalidArgumentError(
          "waitForReplicas",
          "WAIT cannot be routed through a cluster client; use one client per primary",
        );
      }
    }
    this.#waitForReplicas = wait;
    this.#lease = ttlArgs(this.#ttls.leaseTtlMs);
    this.#retention = ttlArgs(this.#ttls.retentionTtlMs);
    const timeoutMs = this.#operationTimeoutMs;
    const timeout = (operation: Operation) => () => deadlineError(operation, timeoutMs);
    this.#timeouts = {
      tryInsert: timeout("tryInsert"),
      complete: timeout("complete"),
      touch: timeout("touch"),
      remove: timeout("remove"),
      get: timeout("get"),
      purge: timeout("purge"),
    };
    guardClientErrors(options.client);
  }

  /** The server key of a record: `<prefix>:{<key>}`. */
  recordKey(key: IdempotencyKey): string {
    assertIdempotencyKey(key);
    return `${this.#prefix}:{${key.value}}`;
  }

  async tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options?: LeaseOptions,
  ): Promise<InsertResult> {
    assertProcessing(entry);
    const recordKey = this.recordKey(key);
    const lease = this.#leaseArgs(leaseOf(options, this.#ttls));
    const reply = await this.#run("tryInsert", claimScript, recordKey, [
      entry.fingerprint.hex,
      lease.padded,
      lease.keyTtl,
    ]);
    // A new token is 16 digits; a live record is longer (a version-2 header alone is 73 bytes).
    if (Buffer.isBuffer(reply) && reply.length === tokenDigits) {
      await this.#replicate("tryInsert");
      const token = digitsAt(reply, 0, tokenDigits, "tok");
      return { kind: "claimed", fencingToken: FencingToken.from(token), entry };
    }
    const live = decodeLive(reply, recordKey);
    return { kind: "exists", entry: live.entry, expiresAt: live.expiresAt };
  }

  async complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<FencedOutcome> {
    assertCompleted(entry);
    const retention = this.#retentionArgs(retentionOf(options, this.#ttls));
    const args = [
      this.#token(fencingToken),
      entry.fingerprint.hex,
      retention.padded,
      retention.keyTtl,
      responseHead(entry.response),
      bodyArgument(entry.response.body),
    ];
    const recordKey = this.recordKey(key);
    const outcome = fencedOf(
      await this.#run("complete", completeScript, recordKey, args),
      recordKey,
    );
    if (outcome.kind === "applied") await this.#replicate("complete");
    return outcome;
  }

  async touch(
    key: IdempotencyKey,
    fencingToken: FencingToken,
    options?: LeaseOptions,
  ): Promise<LeaseOutcome> {
    const lease = this.#leaseArgs(leaseOf(options, this.#ttls));
    const args = [this.#token(fencingToken), lease.padded, lease.keyTtl];
    const recordKey = this.recordKey(key);
    return fencedOf(
      await this.#run("touch", touchScript, recordKey, args),
      recordKey,
    ) as LeaseOutcome;
  }

  async remove(key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome> {
    const args = [this.#token(fencingToken)];
    const recordKey = this.recordKey(key);
    return fencedOf(
      await this.#run("remove", removeScript, recordKey, args),
      recordKey,
    ) as LeaseOutcome;
  }

  async get(key: IdempotencyKey): Promise<StoredEntry | undefined> {
    const recordKey = this.recordKey(key);
    const reply = await this.#run("get", getScript, recordKey, []);
    if (reply === scriptCodes.keyExpired) return undefined;
    return decodeLive(reply, recordKey);
  }

  async purge(key: IdempotencyKey): Promise<boolean> {
    return (await this.#run("purge", purgeScript, this.recordKey(key), [])) === 1;
  }

  /**
   * A token as the records hold it. The scripts trust a record holding the token sent without
   * checking it, so a token no record may validly hold (beyond 2^53) is sent as one that no
   * record can hold.
   */
  #token(fencingToken: FencingToken): string {
    assertFencingToken(fencingToken);
    const small = safeTokenValue(fencingToken);
    if (small >= 0) return sixteenDigits(small);
    const digits = fencingToken.toString();
    if (digits.length < tokenDigits) return digits.padStart(tokenDigits, "0");
    return digits.length === tokenDigits && digits <= maxToken ? digits : "x".repeat(17);
  }

  /** The arguments of a lease, cached while calls keep the same one. */
  #leaseArgs(leaseMs: number): TtlArgs {
    const lease = this.#lease;
    return lease.ttlMs === leaseMs ? lease : (this.#lease = ttlArgs(leaseMs));
  }

  /** The arguments of a retention, cached while calls keep the same one. */
  #retentionArgs(retentionMs: number): TtlArgs {
    const retention = this.#retention;
    return retention.ttlMs === retentionMs ? retention : (this.#retention = ttlArgs(retentionMs));
  }

  /**
   * EVALSHA, falling back to EVAL when the server does not have the script cached; both
   * together within the operation's deadline.
   */
  #run(
    operation: Operation,
    script: Script,
    recordKey: string,
    args: CommandArgument[],
  ): Promise<unknown> {
    const keys = [recordKey];
    return withDeadline(
      this.#operationTimeoutMs,
      (deadline) => this.connection.evalsha(script.sha, keys, args, this.#signal(deadline)),
      this.#timeouts[operation],
      (error, deadline) => this.#fallBack(error, operation, script, keys, args, deadline),
    );
  }

  /** After a failed EVALSHA: EVAL if the server lost the script, else the error mapped. */
  async #fallBack(
    error: unknown,
    operation: Operation,
    script: Script,
    keys: string[],
    args: CommandArgument[],
    deadline: Deadline,
  ): Promise<unknown> {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) {
      throw toStoreError(error, operation);
    }
    // The caller has its timeout already: send no write it no longer waits for.
    if (deadline.expired) throw this.#timeouts[operation]();
    try {
      return await this.connection.eval(script.source, keys, args, this.#signal(deadline));
    } catch (evalError) {
      throw toStoreError(evalError, operation);
    }
  }

  /** The deadline's signal for a connection that uses it; none for one that does not. */
  #signal(deadline: Deadline): AbortSignal | undefined {
    return this.connection.signals === false ? undefined : deadline.signal;
  }

  async #replicate(operation: string): Promise<void> {
    const wait = this.#waitForReplicas;
    if (wait === undefined) return;
    // The server holds WAIT's reply for up to its own timeout, so that comes on top.
    const timeoutMs = wait.timeoutMs + this.#operationTimeoutMs;
    const acknowledged = Number(
      await withDeadline(
        timeoutMs,
        async (deadline) => {
          try {
            return await this.connection.command(
              ["WAIT", String(wait.replicas), String(wait.timeoutMs)],
              this.#signal(deadline),
            );
          } catch (error) {
            throw toStoreError(error, operation);
          }
        },
        () => deadlineError(operation, timeoutMs),
      ),
    );
    if (acknowledged < wait.replicas) {
      throw new StoreError(
        "replication",
        operation,
        `${acknowledged} of ${wait.replicas} replicas acknowledged within ${wait.timeoutMs} ms`,
        { retryable: true, ambiguous: true },
      );
    }
  }
}
