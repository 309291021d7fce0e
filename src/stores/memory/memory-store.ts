import { CachedResponse } from "../../core/cached-response.ts";
import { systemClock, type Clock } from "../../core/clock.ts";
import { fencedOutcome, type FencedOutcome, type LeaseOutcome } from "../../core/fenced-outcome.ts";
import { FencingToken, safeTokenValue } from "../../core/fencing-token.ts";
import {
  assertCompleted,
  assertProcessing,
  type Completed,
  type CompletedEntry,
  type IdempotencyEntry,
  type Processing,
} from "../../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../../core/idempotency-key.ts";
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
import { StoreCapacityError } from "../../errors/store-capacity-error.ts";
import { StoreClosedError } from "../../errors/store-closed-error.ts";
import { ExpiryLists, type ExpiryList } from "./expiry-lists.ts";
import { minMaxBytes, recordBytes } from "./record-size.ts";

/** Default {@link MemoryStoreOptions.maxEntries}. */
export const defaultMaxEntries = 100_000;

/** Default {@link MemoryStoreOptions.maxBytes}: 64 MiB. */
export const defaultMaxBytes: number = 64 * 1024 * 1024;

/**
 * Options of {@link MemoryStore}; `leaseTtlMs` (30 000) and `retentionTtlMs` (24 hours) are the
 * defaults of calls that give none.
 */
export interface MemoryStoreOptions extends StoreTtlOptions {
  /**
   * Most entries held at once, live or expired but not yet dropped; {@link defaultMaxEntries}
   * (100 000) by default, `Number.POSITIVE_INFINITY` for no bound.
   */
  readonly maxEntries?: number;
  /**
   * Most bytes held at once, as counted by {@link recordBytes} (an approximation of the heap
   * the records hold); {@link defaultMaxBytes} (64 MiB) by default, at least 1024,
   * `Number.POSITIVE_INFINITY` for no bound.
   *
   * At either bound a new claim first drops expired entries, soonest-expired first; it never
   * evicts a live claim or a retained response (that key's side effect would run again), so
   * when nothing has expired the claim fails with {@link idempotent!StoreCapacityError}. A completion
   * also drops expired entries to stay within `maxBytes`, but is stored even when it cannot:
   * its side effect has run, and losing its response would break at-most-once. Such an
   * overshoot is bounded by the responses of the claims in flight when the store filled,
   * since no new claim is admitted until the store is back under `maxBytes`.
   */
  readonly maxBytes?: number;
  /** How often expired entries are swept, in milliseconds; 60 000 by default, 0 to disable. */
  readonly sweepIntervalMs?: number;
  /** Time source; `Date.now()` by default. */
  readonly clock?: Clock;
}

/**
 * What `run` returns as a settled promise, what it throws as a rejection, as an async function
 * would; without the suspendable frame an async method allocates per call, for the hot path's
 * methods that never await.
 */
function settled<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what was thrown, as an async function would reject
    return Promise.reject(error);
  }
}

interface MemoryRecord {
  readonly id: string;
  entry: IdempotencyEntry;
  /**
   * The value of the record's fencing token. A number, not the token handed to the caller: one
   * object fewer per record for the garbage collector to copy and mark.
   */
  readonly token: number;
  expiresAt: number;
  /** What the record counts against `maxBytes`. */
  bytes: number;
  /** Links of the expiry lists. */
  expiryList: ExpiryList<MemoryRecord> | undefined;
  previous: MemoryRecord | undefined;
  next: MemoryRecord | undefined;
}

function validateLimit(value: unknown, argument: string, min: number): number {
  if (
    value !== Number.POSITIVE_INFINITY &&
    (typeof value !== "number" || !Number.isSafeInteger(value) || value < min)
  ) {
    throw new InvalidArgumentError(
      argument,
      `expected an integer of at least ${min} or Number.POSITIVE_INFINITY, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * `entry`, or a copy whose body owns exactly its bytes. A small Node.js Buffer is a view into a
 * shared 8 KiB pool: kept as is, it would pin the whole pool while counting only its own bytes.
 */
function withOwnBody(entry: CompletedEntry): CompletedEntry {
  const { status, headers, body } = entry.response;
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) return entry;
  const response = new CachedResponse({ status, headers, body: new Uint8Array(body) });
  return restoreEntry({ state: "completed", fingerprint: entry.fingerprint, response });
}

function validateKey(key: unknown): string {
  assertIdempotencyKey(key);
  return key.value;
}

/**
 * An {@link IdempotencyStore} in process memory, for development, tests and single-process
 * services. Bounded by default (see {@link MemoryStoreOptions.maxEntries} and
 * {@link MemoryStoreOptions.maxBytes}). Expiry is checked on every access; a periodic sweep
 * (whose timer never keeps the process alive) frees expired entries, and a claim that finds
 * the store full frees them first.
 *
 * Fencing tokens come from one counter per store, so they are strictly increasing per key,
 * also after purge. Entries do not survive a restart.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "idempotent/memory";
 *
 * await using store = new MemoryStore({ maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 });
 * const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
 * ```
 */
export class MemoryStore implements IdempotencyStore, AsyncDisposable {
  readonly #records = new Map<string, MemoryRecord>();
  // Every record, soonest expiry first, so dropping expired entries never scans live ones.
  readonly #expiries = new ExpiryLists<MemoryRecord>();
  readonly #clock: Clock;
  readonly #ttls: StoreTtls;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #lastToken = 0;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * @throws {@link idempotent!InvalidArgumentError} when a limit is not a positive integer (`maxBytes`: at
   *   least 1024) or `Number.POSITIVE_INFINITY`, `sweepIntervalMs` is not a non-negative
   *   integer, or a TTL is out of range.
   */
  constructor(options: MemoryStoreOptions = {}) {
    this.#ttls = resolveStoreTtls(options);
    const {
      maxEntries = defaultMaxEntries,
      maxBytes = defaultMaxBytes,
      sweepIntervalMs = 60_000,
    } = options;
    this.#maxEntries = validateLimit(maxEntries, "maxEntries", 1);
    this.#maxBytes = validateLimit(maxBytes, "maxBytes", minMaxBytes);
    if (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs < 0) {
      throw new InvalidArgumentError("sweepIntervalMs", "expected a non-negative integer");
    }
    this.#clock = options.clock ?? systemClock;
    if (sweepIntervalMs > 0) {
      this.#sweepTimer = setInterval(() => {
        this.sweep();
      }, sweepIntervalMs);
      this.#sweepTimer.unref();
    }
  }

  /** Number of entries held, live or expired but not yet dropped. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Bytes counted against `maxBytes` for the entries held, live or expired but not yet
   * dropped: an approximation of their heap (see {@link recordBytes}).
   */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * @throws {@link idempotent!StoreCapacityError} (retryable) when the store is at `maxEntries` or
   *   `maxBytes` and no expired entry is left to drop.
   */
  tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options?: LeaseOptions,
  ): Promise<InsertResult> {
    return settled(() => this.#tryInsert(key, entry, options));
  }

  #tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options: LeaseOptions | undefined,
  ): InsertResult {
    this.#assertOpen("tryInsert");
    const id = validateKey(key);
    assertProcessing(entry);
    const leaseTtlMs = leaseOf(options, this.#ttls);
    const now = this.#clock.now();
    const existing = this.#records.get(id);
    if (existing !== undefined) {
      if (existing.expiresAt > now) {
        return { kind: "exists", entry: existing.entry, expiresAt: existing.expiresAt };
      }
      this.#delete(existing);
    }
    const bytes = recordBytes(id, entry);
    this.#makeRoom(now, bytes);
    // Safe integers last 285 years at a million claims per second.
    const token = ++this.#lastToken;
    const fencingToken = FencingToken.from(token);
    const record: MemoryRecord = {
      id,
      entry,
      token,
      expiresAt: now + leaseTtlMs,
      bytes,
      expiryList: undefined,
      previous: undefined,
      next: undefined,
    };
    this.#records.set(id, record);
    this.#expiries.add(record, leaseTtlMs);
    this.#bytes += bytes;
    return { kind: "claimed", fencingToken, entry };
  }

  /**
   * @throws {@link idempotent!InvalidArgumentError} when the completed record alone would count more than
   *   `maxBytes`: it can never fit, so it is refused and the claim stays processing until its
   *   lease ends.
   */
  complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<FencedOutcome> {
    return settled(() => this.#complete(key, entry, fencingToken, options));
  }

  #complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options: RetentionOptions | undefined,
  ): FencedOutcome {
    this.#assertOpen("complete");
    const id = validateKey(key);
    assertCompleted(entry);
    assertFencingToken(fencingToken);
    const ttlMs = retentionOf(options, this.#ttls);
    const now = this.#clock.now();
    const record = this.#records.get(id);
    if (record === undefined || record.expiresAt <= now) return fencedOutcome["key-expired"];
    if (safeTokenValue(fencingToken) !== record.token) return fencedOutcome["fencing-mismatch"];
    if (!record.entry.fingerprint.equals(entry.fingerprint)) {
      return fencedOutcome["fingerprint-mismatch"];
    }
    // The same claim completing again (a retry whose first reply was lost): keep the first.
    if (record.entry.state === "completed") return fencedOutcome.applied;
    const bytes = recordBytes(id, entry);
    if (bytes > this.#maxBytes) {
      throw new InvalidArgumentError(
        "entry",
        `the completed record counts ${bytes} bytes, more than maxBytes (${this.#maxBytes})`,
      );
    }
    // Stay within maxBytes if expired entries allow it; otherwise store anyway (see maxBytes).
    while (this.#bytes - record.bytes + bytes > this.#maxBytes) {
      if (!this.#dropSoonestExpired(now)) break;
    }
    this.#bytes += bytes - record.bytes;
    record.bytes = bytes;
    record.entry = withOwnBody(entry);
    record.expiresAt = now + ttlMs;
    this.#expiries.move(record, ttlMs);
    return fencedOutcome.applied;
  }

  async touch(
    key: IdempotencyKey,
    fencingToken: FencingToken,
    options?: LeaseOptions,
  ): Promise<LeaseOutcome> {
    this.#assertOpen("touch");
    const id = validateKey(key);
    assertFencingToken(fencingToken);
    const ttlMs = leaseOf(options, this.#ttls);
    const now = this.#clock.now();
    const record = this.#records.get(id);
    const refusal = this.#refusal(record, fencingToken, now);
    if (refusal !== undefined) return refusal;
    (record as MemoryRecord).expiresAt = now + ttlMs;
    this.#expiries.move(record as MemoryRecord, ttlMs);
    return fencedOutcome.applied;
  }

  async remove(key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome> {
    this.#assertOpen("remove");
    const id = validateKey(key);
    assertFencingToken(fencingToken);
    const record = this.#records.get(id);
    const refusal = this.#refusal(record, fencingToken, this.#clock.now());
    if (refusal !== undefined) return refusal;
    this.#delete(record as MemoryRecord);
    return fencedOutcome.applied;
  }

  async get(key: IdempotencyKey): Promise<StoredEntry | undefined> {
    this.#assertOpen("get");
    const record = this.#records.get(validateKey(key));
    if (record === undefined || record.expiresAt <= this.#clock.now()) return undefined;
    return { entry: record.entry, expiresAt: record.expiresAt };
  }

  async purge(key: IdempotencyKey): Promise<boolean> {
    this.#assertOpen("purge");
    const record = this.#records.get(validateKey(key));
    if (record === undefined) return false;
    this.#delete(record);
    return record.expiresAt > this.#clock.now();
  }

  /**
   * Drops every expired entry now; returns how many were dropped. Costs O(log t) per dropped
   * entry, t the number of distinct TTLs in use: live entries are not visited.
   */
  sweep(): number {
    const now = this.#clock.now();
    let dropped = 0;
    while (this.#dropSoonestExpired(now)) dropped++;
    return dropped;
  }

  /** Stops the sweep timer and drops every entry; later calls throw {@link StoreClosedError}. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#records.clear();
    this.#expiries.clear();
    this.#bytes = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Why `fencingToken` does not hold a live processing claim, or undefined when it does. */
  #refusal(
    record: MemoryRecord | undefined,
    fencingToken: FencingToken,
    now: number,
  ): LeaseOutcome | undefined {
    if (record === undefined || record.expiresAt <= now) return fencedOutcome["key-expired"];
    if (record.entry.state !== "processing" || safeTokenValue(fencingToken) !== record.token) {
      return fencedOutcome["fencing-mismatch"];
    }
    return undefined;
  }

  /**
   * Makes room for one more record of `bytes` by dropping expired entries, soonest-expired
   * first; live entries (claims and retained responses) are never evicted.
   * @throws {@link idempotent!StoreCapacityError} when the room cannot be made.
   */
  #makeRoom(now: number, bytes: number): void {
    for (;;) {
      const entriesFull = this.#records.size >= this.#maxEntries;
      if (!entriesFull && this.#bytes + bytes <= this.#maxBytes) return;
      if (!this.#dropSoonestExpired(now)) {
        throw entriesFull
          ? new StoreCapacityError("entries", this.#maxEntries)
          : new StoreCapacityError("bytes", this.#maxBytes);
      }
    }
  }

  /** Drops the entry that expires first if it has expired; whether it did. */
  #dropSoonestExpired(now: number): boolean {
    const soonest = this.#expiries.peek();
    if (soonest === undefined || soonest.expiresAt > now) return false;
    this.#delete(soonest);
    return true;
  }

  #delete(record: MemoryRecord): void {
    this.#records.delete(record.id);
    this.#expiries.remove(record);
    this.#bytes -= record.bytes;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new StoreClosedError(operation);
  }
}
